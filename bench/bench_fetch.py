"""`backtest data fetch` figures against a fake Upbit on loopback (printed; not a timed test).

Run: ``python bench/bench_fetch.py``. One year of hourly BTC_KRW bars (8,784, so 44 pages
of 200) is fetched into a temporary directory three ways, in one run:

1. ccxt's rate limiter on (as shipped: Upbit's public limit, 10 requests/s),
2. the rate limiter off (the fake answers at once: our own cost per page),
3. a re-run over the stored year (resume: no candle request at all).

Rows/s of (1) is what a real fetch can reach at best; (2) shows how little of it is ours.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backtest_core.datastore import LocalDataStore  # noqa: E402
from backtest_ingest.exchanges import ExchangeClient  # noqa: E402
from backtest_ingest.fetch import FetchPlan, fetch  # noqa: E402
from tests.fake_exchange import FakeUpbit, hourly_candles  # noqa: E402


def _run(url: str, out: Path, rate_limited: bool) -> tuple[float, int, int]:
    client = ExchangeClient("upbit", api_base=url)
    client.exchange.enableRateLimit = rate_limited
    plan = FetchPlan.build(["BTC_KRW"], "1h", date(2024, 1, 1), date(2024, 12, 31),
                           datetime.now(UTC))
    started = time.perf_counter()
    (report,) = fetch(plan, client, LocalDataStore(out))
    return time.perf_counter() - started, report.requests, report.rows


def main() -> int:
    fake = FakeUpbit({"KRW-BTC": hourly_candles(datetime(2023, 12, 1, tzinfo=UTC),
                                                datetime(2025, 1, 1, tzinfo=UTC))})
    url = fake.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = [("rate limiter on", *_run(url, Path(tmp) / "a", True)),
                    ("rate limiter off", *_run(url, Path(tmp) / "b", False)),
                    ("re-run (resume)", *_run(url, Path(tmp) / "b", False))]
    finally:
        fake.stop()
    print("fetch of one year of 1h bars from a fake Upbit on loopback")
    print(f"  {'case':<18} {'seconds':>8} {'requests':>9} {'rows':>6} {'rows/s':>9}")
    for label, seconds, requests, stored in rows:
        print(f"  {label:<18} {seconds:8.2f} {requests:9d} {stored:6d} "
              f"{stored / seconds:9.0f}")
    on, off = rows[0][1], rows[1][1]
    print(f"  rate limiter on / off: {on / off:.1f}x (the limiter sets the pace, not our code)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
