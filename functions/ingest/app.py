"""Scheduled market data refresh (EventBridge): new closed candles into the bucket's data/.

Raises when any timeframe failed, so the invocation is an Error (alarmed); the files of
the timeframes that succeeded are written.
"""

from backtest_core import aws
from backtest_core.datastore import S3DataStore
from backtest_core.observability import logger
from backtest_ingest.scheduled import IngestSettings, refresh

# Cold start: configuration read once; the S3 client is created lazily by boto3.
SETTINGS = IngestSettings.from_env()
STORE = S3DataStore(aws.client("s3"), SETTINGS.bucket, SETTINGS.data_prefix)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    summaries = refresh(SETTINGS, STORE)
    logger.info("refreshed", extra={"summaries": summaries})
    return {"refreshed": summaries}
