"""``python -m infra.local.stack``: the whole service on a laptop, one foreground command.

moto (DynamoDB, SQS, S3) bootstrapped from template.yaml → saved state reloaded (.local/)
→ demo candles → one sandbox pool per Lambda function (processes started on first use,
sandbox.py; one per HTTP function warmed before serving, warmup.py) → SQS dispatcher (the event
source mappings) → schedules (the reaper) → HTTP server in place of API Gateway → the
supervisor (supervisor.py: a dead moto process is restarted with its state reloaded;
health is 503 while a part is down). Ctrl-C (or SIGTERM) stops everything, saves the
state and exits 0; a supervisor that gives up exits 1.

Environment (flags win): PORT (8000), HOST (127.0.0.1), WORKERS (2 worker pollers),
MOTO_PORT (free port), LOCAL_VISIBILITY_TIMEOUT (seconds; overrides every queue's
VisibilityTimeout), DATA_DIRS (``dir1:dir2`` of SYMBOL-TF.csv files or layout trees; `make run`
adds ./data), SEED_DEMO (1; 0 skips
the demo candles), TEMPLATE (template.yaml of the repository), FARGATE_MIN_CANDLES (unset/0:
off; N: runs estimated at N candles or more go to the Fargate stand-in, a subprocess running
infra/fargate/entry.py), LOCAL_API_CONCURRENCY (4 sandboxes per API function at most),
LOCAL_LEASE_SECONDS (replaces LEASE_SECONDS), LOCAL_SCHEDULE_RATE_S (replaces every schedule's
rate), LOCAL_STATE_DIR (.local; "" = keep no state), LOCAL_WORKER_NICE (10: CPU niceness of
the queue-driven sandboxes, so the API's stay responsive while backtests run),
FANOUT_MIN_CANDLES (the template's FanoutMinCandles: runs with 2+ symbols from this many
candles fan out on the Step Functions state machine), LOCAL_WARM_API (1; 0 leaves the HTTP
functions' sandboxes cold until their first request, warmup.py).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.local import demo_data, local_data, local_state
from infra.local.dispatcher import Dispatcher, Source
from infra.local.emulation import Emulation, start_emulation
from infra.local.http_adapter import ApiServer
from infra.local.live import LiveParts, set_callback_url, start_live
from infra.local.naming import ACCOUNT_ID
from infra.local.sandbox import STOP_GRACE_S, FunctionPool
from infra.local.scheduler import Scheduler, Timer
from infra.local.supervisor import Supervisor
from infra.local.warmup import warm_up_pools

log = logging.getLogger("local.stack")
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class StackConfig:
    template: Path = REPO_ROOT / "template.yaml"
    host: str = "127.0.0.1"
    port: int = 8000
    moto_port: int = 0  # 0 = any free port
    workers: int = 2
    visibility_timeout_s: int | None = None
    seed_demo: bool = True
    data_dirs: tuple[str, ...] = ()
    fargate_min_candles: int = 0  # 0 = every run in the worker "Lambda"
    api_concurrency: int = 4  # sandboxes per function without SQS source or reserved concurrency
    lease_seconds: int | None = None  # replaces every function's LEASE_SECONDS
    schedule_rate_s: float | None = None  # replaces every schedule's rate
    state_dir: Path | None = None  # saved at a clean stop, reloaded at start; None = off
    background_nice: int = 10  # CPU niceness of queue-driven sandboxes (worker, DLQ)
    fanout_min_candles: int | None = None  # None = the template's FanoutMinCandles
    warm_api: bool = True  # a warm sandbox per HTTP function before serving (warmup.py)


@dataclass
class RunningStack:
    """Handles of a started stack; ``stop()`` shuts it down in reverse order."""

    emulation: Emulation
    functions: dict[str, FunctionPool]
    dispatcher: Dispatcher
    scheduler: Scheduler
    api: ApiServer
    state_dir: Path | None = None
    live: LiveParts | None = None
    supervisor: Supervisor | None = None

    @property
    def api_url(self) -> str:
        return self.api.url

    def stop(self) -> None:
        if self.supervisor is not None:  # no restart from here on (one under way finishes)
            self.supervisor.stop()
        self.dispatcher.request_stop()  # pollers wind down while the API stops
        self.scheduler.request_stop()
        if self.live is not None:
            self.live.request_stop()
        self.api.shutdown()  # no new connection; requests in flight end with the pools
        for pool in self.functions.values():  # a busy worker is stopped, not awaited: its
            pool.close(wait=False)  # message stays queued and its task is re-sent at restart
        deadline = time.monotonic() + STOP_GRACE_S  # one grace period for every sandbox
        for pool in self.functions.values():
            pool.join(deadline)
        self.api.server_close()  # joins the request threads (quick now)
        if self.live is not None:  # joined after the pools: a push mid-cold-start is stopped
            self.live.stop()
        self.dispatcher.stop()
        self.scheduler.stop()
        if self.state_dir is not None:
            self._checkpoint(self.state_dir)
        self.emulation.stop()

    def _checkpoint(self, state_dir: Path) -> None:
        """The snapshot of a clean stop; with the emulation down, the journal (on disk up
        to the last acknowledged write) is what the next start replays."""
        if self.emulation.exit_code() is not None:
            log.warning("state: the emulation is down, no snapshot at stop; the journal is"
                        " replayed at the next start")
            return
        try:
            local_state.checkpoint(self.emulation, state_dir)
        except Exception as exc:
            log.warning("state: snapshot at stop failed (%s); the journal is replayed at the"
                        " next start", " ".join(str(exc).split())[:300])

def start_stack(config: StackConfig,
                give_up: Callable[[str], None] | None = None) -> RunningStack:
    """Start every part; returns once the API accepts requests (one warm sandbox per HTTP
    function, unless ``warm_api`` is off; more start on first use). ``give_up(reason)`` is
    called when the supervisor cannot restart the emulation."""
    overrides = ({"FanoutMinCandles": str(config.fanout_min_candles)}
                 if config.fanout_min_candles else None)
    emu = start_emulation(config.template, config.moto_port, config.visibility_timeout_s,
                          parameter_overrides=overrides, journal=_next_journal(config))
    _apply_overrides(emu, config)
    if config.state_dir is not None:  # snapshot + journal, before any request is served
        local_state.recover(emu, config.state_dir)
    set_callback_url(emu.model.functions, config.host, config.port)  # before the sandboxes
    functions = _pools(emu, config)
    # The warm-up imports run while the candles load (a listing cached before they are all
    # in is only trusted to accept: stored_timeframes.py re-lists before refusing).
    warming = warm_up_pools(functions.values()) if config.warm_api else []
    _seed(emu, config)
    dispatcher = Dispatcher(_sources(emu, functions, config.workers),
                            lambda: emu.client("sqs"), emu.model.region)
    dispatcher.start()
    scheduler = Scheduler(_timers(emu, functions, config.schedule_rate_s), emu.model.region)
    scheduler.start()
    api = ApiServer((config.host, config.port), functions, emu.model.cors)
    live = start_live(emu, functions, api)  # WebSocket + console on the API's port
    for thread in warming:  # the first request meets its budget: no cold sandbox
        thread.join()
    state_dir = config.state_dir
    supervisor = Supervisor(
        emu, dispatcher, None if state_dir is None else lambda: _restart_emulation(emu, config),
        give_up or (lambda reason: None))
    api.hooks.insert(0, supervisor.handle)  # before the console's and the WebSocket's
    if state_dir is not None:
        local_state.resend_pending(emu)
    supervisor.start()  # before the first answer: a kill right after a green health is seen
    api.serve_in_thread()  # accepting requests from here on
    return RunningStack(emulation=emu, functions=functions, dispatcher=dispatcher,
                        scheduler=scheduler, api=api, state_dir=state_dir, live=live,
                        supervisor=supervisor)


def _next_journal(config: StackConfig) -> Path | None:
    """Where the (new) moto process journals: the file after the saved snapshot's."""
    if config.state_dir is None:
        return None
    return local_state.journal_path(config.state_dir,
                                    local_state.generation(config.state_dir) + 1)


def _seed(emu: Emulation, config: StackConfig) -> None:
    """Demo candles and ``DATA_DIRS`` (not journalled: loaded again at every start)."""
    if config.seed_demo or config.data_dirs:
        bucket = emu.env.get("BUCKET") or emu.model.buckets[0].name
        prefix = emu.env.get("DATA_PREFIX", "data/")
        real = local_data.load_layout_dirs(emu.client("s3", journalled=False), bucket, prefix,
                                           config.data_dirs)
        demo_data.seed(emu.client("s3", journalled=False), bucket, prefix, config.data_dirs,
                       synthetic=config.seed_demo, skip=real)


def _restart_emulation(emu: Emulation, config: StackConfig) -> None:
    """The supervisor's restart: a new moto on the same port, then what a start does with
    the state (snapshot + the dead process's journal, demo data, pending tasks re-sent)."""
    assert config.state_dir is not None
    emu.restart(_next_journal(config))  # gated: only the stack's own requests until open()
    local_state.recover(emu, config.state_dir)
    _seed(emu, config)
    emu.open()
    local_state.resend_pending(emu)


def _apply_overrides(emu: Emulation, config: StackConfig) -> None:
    """Local knobs that replace a template value in every function that has it."""
    overrides = {
        "LEASE_SECONDS": config.lease_seconds,
        "JOBS_VISIBILITY_TIMEOUT_S": config.visibility_timeout_s,
    }
    if config.schedule_rate_s is not None:  # a watch never outlasts the (shorter) rate
        overrides["REAPER_WATCH_S"] = max(0, int(config.schedule_rate_s) - 2)
    for fn in emu.model.functions:
        for key, value in overrides.items():
            if value is not None and key in fn.environment:
                fn.environment[key] = str(value)
    if config.lease_seconds is not None:
        log.warning("LEASE_SECONDS overridden to %ss (LOCAL_LEASE_SECONDS)", config.lease_seconds)
    if config.fargate_min_candles > 0:
        worker = next(f for f in emu.model.functions if f.logical_id == "WorkerFunction")
        worker.environment["FARGATE_MIN_CANDLES"] = str(config.fargate_min_candles)
        log.info("Fargate stand-in on: runs of >= %d estimated candles go to a subprocess",
                 config.fargate_min_candles)


def _pools(emu: Emulation, config: StackConfig) -> dict[str, FunctionPool]:
    """One sandbox pool per function. Concurrency: its SQS pollers (worker: WORKERS, a
    dead-letter handler: 1), else ReservedConcurrentExecutions, else ``api_concurrency``."""
    dead_letter_queues = {q.redrive_target for q in emu.model.queues if q.redrive_target}
    pools: dict[str, FunctionPool] = {}
    for spec in emu.model.functions:
        pollers = sum(_pollers(e.queue_logical_id, dead_letter_queues, config.workers)
                      for e in spec.sqs_sources if e.enabled)
        concurrency = pollers or (1 if spec.schedules and not spec.routes else 0) or (
            spec.reserved_concurrency or config.api_concurrency)
        hook = ("infra.local.fargate:install_stand_in"
                if spec.logical_id == "WorkerFunction" and config.fargate_min_candles > 0
                else None)
        nice = config.background_nice if pollers else 0
        pools[spec.logical_id] = FunctionPool(spec, emu.model.region, emu.env, concurrency,
                                              nice, init_hook=hook)
    return pools


def _pollers(queue_logical_id: str, dead_letter_queues: set[str | None], workers: int) -> int:
    return 1 if queue_logical_id in dead_letter_queues else max(1, workers)


def _sources(emu: Emulation, functions: dict[str, FunctionPool], workers: int) -> list[Source]:
    """One Source per enabled SQS event; dead-letter queues get 1 poller, the others ``workers``."""
    dead_letter_queues = {q.redrive_target for q in emu.model.queues if q.redrive_target}
    sources = []
    for fn in functions.values():
        for event in fn.spec.sqs_sources:
            if not event.enabled:
                continue
            queue = emu.model.queue(event.queue_logical_id)
            sources.append(Source(
                function=fn,
                queue_logical_id=queue.logical_id,
                queue_url=emu.queue_urls[queue.logical_id],
                queue_arn=queue.arn,
                batch_size=event.batch_size,
                report_batch_item_failures=event.report_batch_item_failures,
                pollers=_pollers(queue.logical_id, dead_letter_queues, workers),
            ))
    return sources


def _timers(emu: Emulation, functions: dict[str, FunctionPool],
            rate_override_s: float | None) -> list[Timer]:
    """One timer per enabled schedule event (EventBridge rule)."""
    return [
        Timer(function=fn, rate_s=rate_override_s or schedule.rate_s,
              rule_arn=f"arn:aws:events:{emu.model.region}:{ACCOUNT_ID}:rule/"
                       f"{fn.spec.name}-schedule-{index}")
        for fn in functions.values()
        for index, schedule in enumerate(fn.spec.schedules)
        if schedule.enabled
    ]


def banner(stack: RunningStack, ready_s: float) -> str:
    api = stack.api_url
    body = ('{"strategy":"volume_zone_breakout","symbols":["BTC_KRW"],'
            '"start_date":"2024-01-01","end_date":"2024-12-31","timeframe":"1d"}')
    return "\n".join([
        f"Async backtest service (local stack) ready in {ready_s:.1f} s",
        f"  API      {api}/api   (Swagger UI: {api}/api/docs)",
        f"  Console  {api}/   live progress: {api.replace('http', 'ws', 1)}/ws/backtest/<task_id>",
        f"  AWS      {stack.emulation.endpoint_url}   (moto: AWS_ENDPOINT_URL for boto3 / aws cli,"
        " any credentials, us-east-1)",
        f"  try      curl -s {api}/api/health",
        f"           curl -s -X POST {api}/api/backtests/run-async"
        f" -H 'content-type: application/json' -d '{body}'",
        f"           curl -s {api}/api/backtests/status/<task_id>",
        f"  CLI      source .venv/bin/activate && backtest --help   (or .venv/bin/backtest;"
        f" it talks to {api} via BACKTEST_API_URL or PORT)",
        "  Demo candles BTC_KRW, ETH_KRW (1d, 1h; 2024-2025) are SYNTHETIC, not market data,",
        f"  unless loaded from ./data or DATA_DIRS (see {api}/api/data/inventory).",
        f"  Stack    pid {os.getpid()}; functions run in its child sandboxes (one per API"
        f" function warm from the start, others on first use): pgrep -a -P {os.getpid()}",
        (f"  State is kept in {stack.state_dir} (every write journalled: it survives kill -9)"
         " and reloaded at start." if stack.state_dir else
         "  No state is kept (LOCAL_STATE_DIR is empty)."),
        "  Ctrl-C stops everything.",
    ])


def parse_config(argv: list[str] | None = None) -> StackConfig:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m infra.local.stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=env.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env.get("PORT") or 8000))
    parser.add_argument("--workers", type=int, default=int(env.get("WORKERS") or 2))
    parser.add_argument("--moto-port", type=int, default=int(env.get("MOTO_PORT") or 0))
    parser.add_argument("--template", type=Path,
                        default=Path(env.get("TEMPLATE") or REPO_ROOT / "template.yaml"))
    args = parser.parse_args(argv)
    visibility = env.get("LOCAL_VISIBILITY_TIMEOUT")
    return StackConfig(
        template=args.template,
        host=args.host,
        port=args.port,
        moto_port=args.moto_port,
        workers=args.workers,
        visibility_timeout_s=int(visibility) if visibility else None,
        seed_demo=env.get("SEED_DEMO", "1") != "0",
        data_dirs=tuple(d for d in env.get("DATA_DIRS", "").split(os.pathsep) if d),
        fargate_min_candles=int(env.get("FARGATE_MIN_CANDLES") or 0),
        api_concurrency=int(env.get("LOCAL_API_CONCURRENCY") or 4),
        lease_seconds=_optional_int(env.get("LOCAL_LEASE_SECONDS")),
        schedule_rate_s=float(env["LOCAL_SCHEDULE_RATE_S"]) if env.get(
            "LOCAL_SCHEDULE_RATE_S") else None,
        state_dir=_state_dir(env.get("LOCAL_STATE_DIR", str(REPO_ROOT / ".local"))),
        background_nice=int(env.get("LOCAL_WORKER_NICE") or 10),
        fanout_min_candles=int(env.get("FANOUT_MIN_CANDLES") or 0) or None,
        warm_api=env.get("LOCAL_WARM_API", "1") != "0",
    )


def _optional_int(value: str | None) -> int | None:
    return int(value) if value else None


def _state_dir(value: str) -> Path | None:
    return Path(value) if value.strip() else None


def _fatal(reason: str, reasons: list[str], stop: threading.Event) -> None:
    reasons.append(reason)
    stop.set()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials..." per client
    # Powertools warns on every invocation that publishes no custom metric: noise locally.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    config = parse_config(argv)
    stop = threading.Event()
    received: list[str] = []

    def _on_signal(signum: int, _frame: object) -> None:
        # Only a list append: taking the Event's lock here could deadlock with the main
        # thread inside stop.wait(), which then never returned (a stack deaf to SIGTERM).
        received.append(signal.Signals(signum).name)

    fatal: list[str] = []  # the supervisor gave up: exit 1 (its one line is logged)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _on_signal)
    started = time.perf_counter()
    try:
        stack = start_stack(config, give_up=lambda reason: _fatal(reason, fatal, stop))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        log.error("%s:%s is in use: set PORT (or --port) to a free port", config.host,
                  config.port)
        return 1
    print(banner(stack, time.perf_counter() - started), flush=True)
    while not received and not stop.wait(0.2):  # a timed wait: the handler runs within it
        pass
    stopping = time.perf_counter()
    stack.stop()
    log.info("stopped on %s in %.1f s", received[0] if received else "supervisor",
             time.perf_counter() - stopping)  # the one line of a clean stop
    return 1 if fatal else 0


if __name__ == "__main__":
    sys.exit(main())
