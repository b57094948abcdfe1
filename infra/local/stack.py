"""``python -m infra.local.stack``: the whole service on a laptop, in one foreground process.

moto (DynamoDB, SQS, S3) bootstrapped from template.yaml → demo candles → every Lambda
handler loaded in-process → SQS dispatcher (the event source mappings) → HTTP server in
place of API Gateway. Ctrl-C (or SIGTERM) stops everything and exits 0.

Environment (flags win): PORT (8000), HOST (127.0.0.1), WORKERS (2 worker pollers),
MOTO_PORT (free port), LOCAL_VISIBILITY_TIMEOUT (seconds; overrides every queue's
VisibilityTimeout), DATA_DIRS (``dir1:dir2`` of SYMBOL-TF.csv files), SEED_DEMO (1; 0 skips
the demo candles), TEMPLATE (template.yaml of the repository), FARGATE_MIN_CANDLES (unset/0:
off; N: runs estimated at N candles or more go to the Fargate stand-in, a subprocess running
infra/fargate/entry.py), FANOUT_MIN_CANDLES (the template's FanoutMinCandles: runs with 2+
symbols from this many candles fan out on the Step Functions state machine).
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
from dataclasses import dataclass
from pathlib import Path

from infra.local import demo_data
from infra.local.dispatcher import Dispatcher, Source
from infra.local.emulation import Emulation, start_emulation
from infra.local.fargate import SubprocessLauncher
from infra.local.functions import LoadedFunction, load_all
from infra.local.http_adapter import ApiServer
from infra.local.live import LiveParts, set_callback_url, start_live

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
    fanout_min_candles: int | None = None  # None = the template's FanoutMinCandles


@dataclass
class RunningStack:
    """Handles of a started stack; ``stop()`` shuts it down in reverse order."""

    emulation: Emulation
    functions: dict[str, LoadedFunction]
    dispatcher: Dispatcher
    api: ApiServer
    fargate: SubprocessLauncher | None = None
    live: LiveParts | None = None

    @property
    def api_url(self) -> str:
        return self.api.url

    def stop(self) -> None:
        self.dispatcher.request_stop()  # pollers wind down while the API stops
        if self.live is not None:
            self.live.stop()
        self.api.shutdown()
        self.api.server_close()
        self.dispatcher.stop()
        if self.fargate is not None:
            self.fargate.stop()
        self.emulation.stop()


def start_stack(config: StackConfig) -> RunningStack:
    """Start every part; returns once the API accepts requests."""
    overrides = ({"FanoutMinCandles": str(config.fanout_min_candles)}
                 if config.fanout_min_candles else None)
    emu = start_emulation(config.template, config.moto_port, config.visibility_timeout_s,
                          parameter_overrides=overrides)
    if config.seed_demo or config.data_dirs:
        bucket = emu.env.get("BUCKET") or emu.model.buckets[0].name
        demo_data.seed(emu.client("s3"), bucket, emu.env.get("DATA_PREFIX", "data/"),
                       config.data_dirs, synthetic=config.seed_demo)
    set_callback_url(emu.model.functions, config.host, config.port)  # known port: before load
    functions = load_all(emu.model.functions, emu.model.region)
    fargate = _fargate_stand_in(emu, functions, config.fargate_min_candles)
    dispatcher = Dispatcher(_sources(emu, functions, config.workers),
                            lambda: emu.client("sqs"), emu.model.region)
    dispatcher.start()
    api = ApiServer((config.host, config.port), functions, emu.model.cors)
    live = start_live(emu, functions, api)  # WebSocket + console on the API's port
    api.serve_in_thread()  # accepting requests from here on
    return RunningStack(emulation=emu, functions=functions, dispatcher=dispatcher, api=api,
                        fargate=fargate, live=live)


def _fargate_stand_in(emu: Emulation, functions: dict[str, LoadedFunction],
                      min_candles: int) -> SubprocessLauncher | None:
    """With ``min_candles`` > 0, route long runs to a subprocess container: the threshold
    goes into the worker's settings, the launcher into its (in-process) services."""
    if min_candles <= 0:
        return None
    worker = functions["WorkerFunction"].spec
    emu.env["FARGATE_MIN_CANDLES"] = worker.environment["FARGATE_MIN_CANDLES"] = str(min_candles)
    os.environ["FARGATE_MIN_CANDLES"] = str(min_candles)  # settings are read on first use
    launcher = SubprocessLauncher({**emu.env, **worker.environment})
    from backtest_core.services import services  # the handlers' shared services

    svc = services()
    if svc.settings.fargate_min_candles != min_candles:
        raise RuntimeError("the worker's settings were read before FARGATE_MIN_CANDLES was set")
    svc.launcher = launcher
    log.info("Fargate stand-in on: runs of >= %d estimated candles go to a subprocess",
             min_candles)
    return launcher


def _sources(emu: Emulation, functions: dict[str, LoadedFunction], workers: int) -> list[Source]:
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
                pollers=1 if queue.logical_id in dead_letter_queues else max(1, workers),
            ))
    return sources


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
        "  Demo candles BTC_KRW, ETH_KRW (1d, 1h; 2024-2025) are SYNTHETIC, not market data.",
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
        fanout_min_candles=int(env.get("FANOUT_MIN_CANDLES") or 0) or None,
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "Found credentials..." per client
    # Powertools warns on every invocation that publishes no custom metric: noise locally.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    config = parse_config(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    started = time.perf_counter()
    try:
        stack = start_stack(config)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        log.error("%s:%s is in use: set PORT (or --port) to a free port", config.host,
                  config.port)
        return 1
    print(banner(stack, time.perf_counter() - started), flush=True)
    stop.wait()
    log.info("stopping")
    stack.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
