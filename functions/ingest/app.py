"""Scheduled market data refresh (EventBridge): new closed candles into the bucket's data/.

Raises when any timeframe failed, so the invocation is an Error (alarmed); the files of
the timeframes that succeeded are written.
"""

from functools import cache

from backtest_core import aws
from backtest_core.datastore import S3DataStore
from backtest_core.observability import logger
from backtest_ingest.scheduled import IngestSettings, refresh


@cache
def _settings() -> IngestSettings:
    return IngestSettings.from_env()


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    cfg = _settings()
    store = S3DataStore(aws.client("s3"), cfg.bucket, cfg.data_prefix)
    summaries = refresh(cfg, store)
    logger.info("refreshed", extra={"summaries": summaries})
    return {"refreshed": summaries}
