"""A fake Upbit REST API on a free local port, for offline tests of `backtest data fetch`.

Routes have Upbit's shape: ``GET /v1/market/all`` and ``GET /v1/candles/minutes/{unit}``
(also ``days``, ``weeks``) with ``market``, ``count`` (≤ 200) and ``to`` (exclusive);
candles come newest first, as Upbit answers. Faults are scripted per candle request
number (1-based): ``status_on`` answers that status once, ``duplicate_on`` adds the
candle at ``to`` itself (overlapping the previous page), ``fail_from`` answers 500 from that
request on. ``requests`` logs every candle request's query.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOUR_MS = 3_600_000


@dataclass
class Candle:
    ts_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def hourly_candles(start: datetime, end: datetime, missing: set[datetime] = frozenset()
                   ) -> list[Candle]:
    """Deterministic hourly bars in ``[start, end)`` without the ``missing`` open times."""
    out = []
    moment, i = start, 0
    while moment < end:
        if moment not in missing:
            base = 50_000_000.0 + 10_000.0 * (i % 97) + 1_000.0 * (i % 7)
            out.append(Candle(int(moment.timestamp() * 1000), base, base + 30_000.0,
                              base - 20_000.0, base + 5_000.0, 1.0 + (i % 13) * 0.25))
        moment += timedelta(hours=1)
        i += 1
    return out


# The test market: hourly bars from 2023-12-20 to 2024-01-31, without five bars the exchange
# does not have (2024-01-10 05:00 .. 09:00; 04:00 is the last bar before the gap).
GAP = frozenset(datetime(2024, 1, 10, hour, tzinfo=UTC) for hour in range(5, 10))


def btc_candles() -> list[Candle]:
    return hourly_candles(datetime(2023, 12, 20, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC),
                          GAP)


@dataclass
class FakeUpbit:
    candles: dict[str, list[Candle]]  # market id (KRW-BTC) → candles, any order
    status_on: dict[int, int] = field(default_factory=dict)
    json_error_on: set[int] = field(default_factory=set)  # these 429s carry Upbit's JSON body
    duplicate_on: set[int] = field(default_factory=set)
    fail_from: int | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    served_statuses: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                status, body = fake.answer(self.path)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- routes ---------------------------------------------------------------------
    def answer(self, raw_path: str) -> tuple[int, str]:
        url = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == "/v1/market/all":
            markets = [{"market": m, "korean_name": m, "english_name": m} for m in self.candles]
            return 200, json.dumps(markets)
        parts = url.path.split("/")
        if url.path.startswith("/v1/candles/"):
            with self._lock:
                self.requests.append({"path": url.path, **query})
                number = len(self.requests)
            status = self._fault(number)
            self.served_statuses.append(status)
            if status == 429 and number in self.json_error_on:
                return status, json.dumps({"error": {"name": "too_many_requests",
                                                     "message": "Too many API requests."}})
            if status != 200:
                return status, "Too many API requests." if status == 429 else "Server error"
            period_ms = _period_ms(parts[3:])
            return 200, json.dumps(self._page(query, period_ms, number))
        return 404, json.dumps({"error": {"name": "not_found", "message": "no route"}})

    def _fault(self, number: int) -> int:
        if self.fail_from is not None and number >= self.fail_from:
            return 500
        return self.status_on.get(number, 200)

    def _page(self, query: dict[str, str], period_ms: int, number: int) -> list[dict[str, Any]]:
        market = query["market"]
        count = min(int(query.get("count", 200)), 200)
        to_ms = _parse_to(query["to"]) if "to" in query else 2**62
        candles = sorted(self.candles.get(market, []), key=lambda c: c.ts_ms, reverse=True)
        page = [c for c in candles if c.ts_ms < to_ms][:count]
        if number in self.duplicate_on:  # the candle at `to` again: overlaps the last page
            page = [c for c in candles if c.ts_ms == to_ms][:1] + page[: count - 1]
        return [_upbit_json(market, c, period_ms) for c in page]


def _period_ms(parts: list[str]) -> int:
    if parts[0] == "minutes":
        return int(parts[1]) * 60_000
    return {"days": 24 * HOUR_MS, "weeks": 7 * 24 * HOUR_MS}[parts[0]]


def _parse_to(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _upbit_json(market: str, c: Candle, period_ms: int) -> dict[str, Any]:
    opened = datetime.fromtimestamp(c.ts_ms / 1000, tz=UTC)
    return {
        "market": market,
        "candle_date_time_utc": opened.strftime("%Y-%m-%dT%H:%M:%S"),
        "candle_date_time_kst": (opened + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S"),
        "opening_price": c.open, "high_price": c.high, "low_price": c.low,
        "trade_price": c.close, "timestamp": c.ts_ms + period_ms - 1,
        "candle_acc_trade_price": c.close * c.volume, "candle_acc_trade_volume": c.volume,
        "unit": period_ms // 60_000,
    }
