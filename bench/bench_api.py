"""API load figures against the local stack (`make bench-api`).

    python bench/bench_api.py [--seconds 30] [--clients 20] [--burst 200] [--workers 4]
    API_URL=http://127.0.0.1:8000 python bench/bench_api.py    # an already running stack

Without API_URL it starts `python -m infra.local.stack` on free loopback ports and stops it
at the end. Two phases:
  baseline: one client for a few seconds while the workers run heavy backtests (--busy
      heavy runs are queued first, enough to keep the workers busy for the whole phase;
      the run says whether some were still queued at its end, and cancels them). The
      budgets (docs/api.md: submit p99 < 100 ms, status p99 < 50 ms) are judged here.
  (a) load: N concurrent aiohttp clients for S seconds; each loop submits a one-symbol daily
      backtest, reads its status three times and cancels it (so the workers are not left
      with a backlog). Latency p50/p95/p99/max per route, errors, and the targets
      submit p99 < 100 ms, status p99 < 50 ms (docs/api.md).
  (b) burst: B one-symbol daily backtests submitted at once, then polled until all are
      terminal (bounded by --burst-timeout): completed/failed/cancelled/lost, time, tasks/s.
  (c) durability: the same load on a stack without state and on one with the write
      journal (submit and status p50/p99 side by side), then the journal alone: sequential
      2 KB PutItem calls to a bare moto process with the journal off and on (the fsync
      on the write path, without the stack's noise).
Ends with a compact summary of (a) and (b) and the load average at start and end (the
figures are only as quiet as the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: make the repository's infra package importable

from infra.local.process import StackProcess  # noqa: E402

TARGETS_P99_MS = {"submit": 100.0, "status": 50.0}
HEAVY_REQUEST = {"strategy": "volume_zone_breakout", "params": {},
                 "symbols": ["BTC_KRW", "ETH_KRW"], "start_date": "2024-01-01",
                 "end_date": "2025-12-31", "timeframe": "1h"}
TERMINAL = frozenset({"completed", "failed", "cancelled"})
STATUS_READS_PER_SUBMIT = 3


def one_symbol_request(i: int) -> dict[str, object]:
    """A small daily run; alternates symbols and strategies."""
    return {
        "strategy": ("volume_zone_breakout", "volume_long_candle")[i % 2],
        "params": {},
        "symbols": [("BTC_KRW", "ETH_KRW")[(i // 2) % 2]],
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "timeframe": "1d",
    }


@dataclass
class Recorder:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "route: why"

    def fail(self, route: str, why: str) -> None:
        self.errors[route] += 1
        self.reasons[f"{route}: {why}"] += 1

    async def call(self, session: aiohttp.ClientSession, route: str, method: str, url: str,
                   ok: tuple[int, ...] = (200,), **kwargs: object) -> dict | None:
        started = time.perf_counter()
        try:
            async with session.request(method, url, **kwargs) as resp:  # type: ignore[arg-type]
                body = await resp.json(content_type=None)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self.fail(route, type(exc).__name__)
            return None
        self.latencies_ms[route].append((time.perf_counter() - started) * 1000.0)
        if status not in ok:
            self.fail(route, f"HTTP {status}")
            return None
        return body if isinstance(body, dict) else None


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_ms:
        return float("nan")
    rank = max(1, min(len(sorted_ms), round(q / 100.0 * len(sorted_ms) + 0.5)))
    return sorted_ms[rank - 1]


async def warm_up(url: str, clients: int) -> float:
    """One unrecorded submit/status/cancel round per client (cold starts, imports)."""
    started = time.monotonic()
    await load_phase(url, clients, 0.0, rounds=1)
    return time.monotonic() - started


async def load_phase(url: str, clients: int, seconds: float, rounds: int = 0) -> Recorder:
    """Each client loops submit → status ×3 → cancel until ``seconds`` pass (or ``rounds``)."""
    rec = Recorder()
    stop_at = time.monotonic() + seconds
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=clients)

    async def client(i: int, session: aiohttp.ClientSession) -> None:
        n = 0
        while time.monotonic() < stop_at or n < rounds:
            n += 1
            body = await rec.call(session, "submit", "POST", f"{url}/api/backtests/run-async",
                                  json=one_symbol_request(i + n))
            if body is None or "task_id" not in body:
                continue
            task_id = body["task_id"]
            for _ in range(STATUS_READS_PER_SUBMIT):
                await rec.call(session, "status", "GET", f"{url}/api/backtests/status/{task_id}")
            # 400 = it already finished: an expected answer, not an error
            await rec.call(session, "cancel", "DELETE", f"{url}/api/backtests/tasks/{task_id}",
                           ok=(200, 400))

    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(client(i, session) for i in range(clients)))
    return rec


@dataclass
class BurstOutcome:
    counts: dict[str, int]
    submit_errors: int
    accepted_s: float  # until every submit was answered
    total_s: float  # until the last task was seen terminal
    reasons: dict[str, int]


async def burst_phase(url: str, n: int, timeout_s: float,
                      alive: Callable[[], bool] = lambda: True) -> BurstOutcome:
    rec = Recorder()
    counts = {"completed": 0, "failed": 0, "cancelled": 0, "lost": 0}
    started = time.monotonic()
    deadline = started + timeout_s
    last_terminal = started
    # generous: all n requests queue up at once in front of the API (and its backlog)
    timeout = aiohttp.ClientTimeout(total=60, connect=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        submitted = await asyncio.gather(*(
            rec.call(session, "submit", "POST", f"{url}/api/backtests/run-async",
                     json=one_symbol_request(i)) for i in range(n)))
        accepted_s = time.monotonic() - started
        pending = {b["task_id"] for b in submitted if b and "task_id" in b}
        gate = asyncio.Semaphore(50)

        async def poll(task_id: str) -> tuple[str, dict | None]:
            async with gate:
                return task_id, await rec.call(session, "status", "GET",
                                               f"{url}/api/backtests/status/{task_id}",
                                               ok=(200, 404))

        while pending and time.monotonic() < deadline and alive():
            for task_id, doc in await asyncio.gather(*(poll(t) for t in pending)):
                if doc is not None and doc.get("detail"):  # 404: the task is gone
                    counts["lost"] += 1
                    pending.discard(task_id)
                elif doc is not None and doc.get("status") in TERMINAL:
                    counts[doc["status"]] += 1
                    pending.discard(task_id)
                    last_terminal = time.monotonic()
            if pending:
                await asyncio.sleep(0.5)
    counts["lost"] += len(pending)  # not terminal by the deadline
    return BurstOutcome(counts, n - sum(1 for b in submitted if b), accepted_s,
                        last_terminal - started, dict(rec.reasons))


async def occupy_workers(url: str, n: int) -> list[str]:
    """Queue ``n`` heavy runs (two symbols, hourly, two years) for the workers."""
    rec = Recorder()
    async with aiohttp.ClientSession() as session:
        bodies = [await rec.call(session, "submit", "POST", f"{url}/api/backtests/run-async",
                                 json=HEAVY_REQUEST) for _ in range(n)]
    return [b["task_id"] for b in bodies if b and "task_id" in b]


async def release_workers(url: str, task_ids: list[str]) -> dict[str, int]:
    """Statuses of the heavy runs now (before cancelling the unfinished ones)."""
    rec = Recorder()
    counts: dict[str, int] = defaultdict(int)
    async with aiohttp.ClientSession() as session:
        for task_id in task_ids:  # every status first: a cancel frees a worker at once
            doc = await rec.call(session, "status", "GET", f"{url}/api/backtests/status/{task_id}")
            counts[(doc or {}).get("status", "unknown")] += 1
        for task_id in task_ids:
            await rec.call(session, "cancel", "DELETE", f"{url}/api/backtests/tasks/{task_id}",
                           ok=(200, 400))
    return dict(counts)


def print_reasons(reasons: dict[str, int]) -> None:
    if reasons:
        print("errors: " + ", ".join(f"{why} x{n}" for why, n in sorted(reasons.items())))


def print_load(rec: Recorder, clients: int, seconds: float, title: str) -> None:
    print(f"\n{title}: {clients} client{'s' if clients > 1 else ''} x {seconds:g} s")
    print(f"{'route':<8}{'count':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'max ms':>9}{'errors':>8}  target")
    for route in ("submit", "status", "cancel"):
        ms = sorted(rec.latencies_ms.get(route, []))
        p99 = percentile(ms, 99)
        target = TARGETS_P99_MS.get(route)
        verdict = ("" if target is None else
                   f"p99 < {target:g} ms: {'PASS' if p99 < target else 'MISS'}")
        print(f"{route:<8}{len(ms):>8}{len(ms) / seconds:>8.1f}{percentile(ms, 50):>9.1f}"
              f"{percentile(ms, 95):>9.1f}{p99:>9.1f}{(ms[-1] if ms else float('nan')):>9.1f}"
              f"{rec.errors.get(route, 0):>8}  {verdict}")
    print_reasons(rec.reasons)


def print_burst(out: BurstOutcome, n: int) -> None:
    done = sum(out.counts[s] for s in TERMINAL)
    rate = done / out.total_s if out.total_s > 0 else float("nan")
    print(f"\n(b) burst: {n} one-symbol daily backtests submitted at once")
    print(f"{'completed':>10}{'failed':>8}{'cancelled':>10}{'lost':>6}{'submit err':>11}"
          f"{'accepted s':>11}{'total s':>9}{'tasks/s':>9}")
    print(f"{out.counts['completed']:>10}{out.counts['failed']:>8}{out.counts['cancelled']:>10}"
          f"{out.counts['lost']:>6}{out.submit_errors:>11}{out.accepted_s:>11.2f}"
          f"{out.total_s:>9.2f}{rate:>9.2f}")
    print_reasons(out.reasons)


def print_summary(rec: Recorder | None, clients: int, seconds: float,
                  burst: BurstOutcome | None, n: int, load_start: tuple[float, ...],
                  base: Recorder | None = None, busy: str = "") -> None:
    """The compact final table (what a reader compares between runs)."""
    load_end = os.getloadavg()
    print(f"\nsummary  ({os.cpu_count()} CPUs; load average 1/5/15 min at start "
          f"{'/'.join(f'{x:.2f}' for x in load_start)}, at end "
          f"{'/'.join(f'{x:.2f}' for x in load_end)})")
    if base is not None:
        print(f"one client{busy}")
        for route in ("submit", "status"):
            ms = sorted(base.latencies_ms.get(route, []))
            target = TARGETS_P99_MS[route]
            print(f"  {route:<8}p50 {percentile(ms, 50):6.1f}  p99 {percentile(ms, 99):6.1f} ms"
                  f"  (n={len(ms)}, errors {base.errors.get(route, 0)})  p99 target "
                  f"{target:g}: {'PASS' if percentile(ms, 99) < target else 'MISS'}")
    if rec is not None:
        print(f"(a) {clients} clients x {seconds:g} s")
        print(f"  {'route':<8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'errors':>8}  (ms)")
        for route in ("submit", "status", "cancel"):
            ms = sorted(rec.latencies_ms.get(route, []))
            target = TARGETS_P99_MS.get(route)
            mark = "" if target is None else (
                f"  p99 target {target:g}: {'PASS' if percentile(ms, 99) < target else 'MISS'}")
            print(f"  {route:<8}{percentile(ms, 50):>8.1f}{percentile(ms, 95):>8.1f}"
                  f"{percentile(ms, 99):>8.1f}{(ms[-1] if ms else float('nan')):>8.1f}"
                  f"{rec.errors.get(route, 0):>8}{mark}")
    if burst is not None:
        c = burst.counts
        print(f"(b) burst {n}: completed {c['completed']}, failed {c['failed']}, cancelled "
              f"{c['cancelled']}, lost {c['lost']}, submit errors {burst.submit_errors}; "
              f"accepted in {burst.accepted_s:.2f} s, all terminal in {burst.total_s:.2f} s")


def durability_phase(clients: int, seconds: float, workers: int) -> None:
    """(c) the cost of durable local state (docs/local.md): the same load on a stack
    without state (``LOCAL_STATE_DIR=""``) and on one with the write journal, printed side
    by side (submit and status p50/p99)."""
    figures = {}
    for label in ("journal off", "journal on"):
        with tempfile.TemporaryDirectory(prefix="bench_api_state_") as state:
            env = {"WORKERS": str(workers),
                   "LOCAL_STATE_DIR": state if label == "journal on" else ""}
            stack = StackProcess(Path(state) / "stack.log", **env)
            try:
                stack.wait_healthy(90.0)
                asyncio.run(warm_up(stack.api_url, clients))
                figures[label] = asyncio.run(load_phase(stack.api_url, clients, seconds))
            finally:
                stack.stop(15.0)
    print(f"\n(c) durability: {clients} clients x {seconds:g} s per stack, one run")
    print(f"  {'route':<8} {'':>12} {'p50 ms':>8} {'p99 ms':>8} {'n':>6}")
    for route in ("submit", "status"):
        for label, rec in figures.items():
            ms = sorted(rec.latencies_ms.get(route, []))
            if ms:
                print(f"  {route:<8} {label:>12} {percentile(ms, 50):8.1f} "
                      f"{percentile(ms, 99):8.1f} {len(ms):6d}")
    for label, ms in journal_alone().items():
        print(f"  {'PutItem':<8} {label:>12} {percentile(ms, 50):8.1f} "
              f"{percentile(ms, 99):8.1f} {len(ms):6d}  (bare moto, one caller)")


def journal_alone(calls: int = 300) -> dict[str, list[float]]:
    """Latency of sequential 2 KB PutItem calls to a bare moto process, journal off/on."""
    import boto3

    from infra.local.emulation import start_moto_process

    out: dict[str, list[float]] = {}
    for label in ("journal off", "journal on"):
        with tempfile.TemporaryDirectory(prefix="bench_api_journal_") as state:
            journal = Path(state) / "1.log" if label == "journal on" else None
            proc, port = start_moto_process("127.0.0.1", 0, journal)
            try:
                ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}",
                                   region_name="us-east-1", aws_access_key_id="testing",
                                   aws_secret_access_key="testing")
                ddb.create_table(TableName="bench", BillingMode="PAY_PER_REQUEST",
                                 KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "k",
                                                        "AttributeType": "S"}])
                ms = []
                for i in range(calls):
                    started = time.perf_counter()
                    ddb.put_item(TableName="bench",
                                 Item={"k": {"S": str(i)}, "v": {"S": "x" * 2048}})
                    ms.append((time.perf_counter() - started) * 1000)
                out[label] = sorted(ms)
            finally:
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(10)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="(a) load; 0 skips it")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--baseline-seconds", type=float, default=5.0,
                        help="single-client latency first (0 skips)")
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--burst-timeout", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "4")))
    parser.add_argument("--busy", type=int, default=-1,
                        help="heavy runs queued before the baseline (default: 8 per worker"
                             " and 5 s of baseline; 0 = idle workers)")
    parser.add_argument("--durability-seconds", type=float, default=10.0,
                        help="(c) the same load with the write journal off and on (0 skips)")
    args = parser.parse_args(argv)
    if args.busy < 0:
        args.busy = 8 * args.workers * max(1, round(args.baseline_seconds / 5))

    stack = None
    url = os.environ.get("API_URL", "").rstrip("/")
    load_start = os.getloadavg()
    print(f"load average at start (1/5/15 min): {'/'.join(f'{x:.2f}' for x in load_start)}"
          f" on {os.cpu_count()} CPUs")
    rec = burst = base = None
    busy = ""
    try:
        if not url:
            log_path = Path(tempfile.mkstemp(prefix="bench_api_stack_", suffix=".log")[1])
            stack = StackProcess(log_path, WORKERS=str(args.workers))
            print(f"starting local stack on {stack.api_url} (WORKERS={args.workers}; "
                  f"log {log_path}) ...")
            stack.wait_healthy(90.0)
            url = stack.api_url
        print(f"API {url}")
        print(f"warm-up (one round per client, not measured): "
              f"{asyncio.run(warm_up(url, args.clients)):.1f} s")
        if args.baseline_seconds > 0:
            heavy = asyncio.run(occupy_workers(url, args.busy)) if args.busy else []
            base = asyncio.run(load_phase(url, 1, args.baseline_seconds))
            states = asyncio.run(release_workers(url, heavy)) if heavy else {}
            busy = (f" while the workers run {len(heavy)} queued heavy backtests "
                    f"(at the end: {', '.join(f'{k} {v}' for k, v in sorted(states.items()))};"
                    f" busy throughout: {'yes' if states.get('queued') else 'NO'})"
                    if heavy else " (workers idle)")
            print_load(base, 1, args.baseline_seconds, "baseline: one client" + busy)
        if args.seconds > 0:
            rec = asyncio.run(load_phase(url, args.clients, args.seconds))
            print_load(rec, args.clients, args.seconds, "(a) load")
        if args.burst > 0:
            alive = (lambda: stack.proc.poll() is None) if stack is not None else (lambda: True)
            burst = asyncio.run(burst_phase(url, args.burst, args.burst_timeout, alive))
            print_burst(burst, args.burst)
            if not alive():
                print(f"error: the stack exited during the burst:\n{stack.tail()}",  # type: ignore[union-attr]
                      file=sys.stderr)
        print_summary(rec, args.clients, args.seconds, burst, args.burst, load_start, base, busy)
        if args.durability_seconds > 0 and not os.environ.get("API_URL"):
            durability_phase(args.clients, args.durability_seconds, args.workers)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if stack is not None:
            stack.stop(15.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
