"""The engine's error vocabulary. Every error here is permanent: retrying cannot help."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class DataError(EngineError):
    """Bad candles. The message names the file, the row and the rule that failed."""


class NoDataError(EngineError):
    """No requested symbol has candles in the window.

    Message: ``No data found for symbols ['BTC_KRW'] in range 2024-01-01 ~ 2024-01-31``.
    """


class ParamsError(EngineError, ValueError):
    """Unknown strategy, bad parameters, bad symbol/timeframe/dates.

    ``errors`` is a FastAPI-style list ``[{"loc": [...], "msg": str, "type": str}]``,
    e.g. ``[{"loc": ["params", "volume_window"], "msg": "...", "type": "less_than_equal"}]``.
    """

    def __init__(self, errors: list[dict]):
        self.errors = [
            {"loc": list(e["loc"]), "msg": str(e["msg"]), "type": str(e["type"])} for e in errors
        ]
        super().__init__("; ".join(_describe(e) for e in self.errors) or "invalid parameters")

    @classmethod
    def single(cls, loc: list, msg: str, type_: str = "value_error") -> ParamsError:
        """One error at ``loc`` (e.g. ``["symbols", 0]``)."""
        return cls([{"loc": loc, "msg": msg, "type": type_}])


class BacktestCancelled(EngineError):
    """``should_cancel()`` returned true; the run stopped and produced no result."""


def _describe(err: dict) -> str:
    loc = ".".join(str(part) for part in err["loc"])
    return f"{loc}: {err['msg']}" if loc else err["msg"]
