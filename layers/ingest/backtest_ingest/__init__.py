"""backtest_ingest: market data into the storage layout (docs/data.md).

``backtest data fetch`` and the scheduled ingest function page candles from an exchange
through ccxt (fetch.py, exchanges.py); ``backtest data import`` converts a CSV
(importer.py). Both merge into the year files of a DataStore (yearfiles.py) and keep the
inventory manifest up to date. Ships in the IngestLayer (ccxt + tenacity) next to the
CoreLayer and the EngineLayer; ccxt is imported only by exchanges.py.
"""
