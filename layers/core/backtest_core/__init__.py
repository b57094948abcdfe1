"""Light core of the backtest service: models, settings, AWS data access and use cases.

Never imports pandas, numpy or ``backtest_engine`` (the engine is passed in as an argument).
"""

__version__ = "0.1.0"
