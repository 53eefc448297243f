"""Structured logs: one event per line, JSON by default, a readable line on a terminal.

Call sites name an event and attach fields: ``log.info("conn.closed", user_id=uid, reason="idle")``.
The JSON line is ``{"ts": ..., "level": ..., "logger": ..., "event": ..., <fields>}`` so Filebeat can ship
it without parsing rules.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal

_FIELDS_ATTR = "openim_fields"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, _FIELDS_ATTR, None)
        if fields:
            for key, value in fields.items():
                out.setdefault(key, value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        fields = getattr(record, _FIELDS_ATTR, None) or {}
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{stamp} {record.levelname:<7} {record.name:<10} {record.getMessage()}"
        if tail:
            line += "  " + tail
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RepeatFilter(logging.Filter):
    """Identical warnings and errors written at most once per ``window`` seconds.

    Identical means the same logger, event (message template and its arguments) and cause (exception
    type and errno or text): a flood of one failure (EMFILE on accept, a client bug repeated by every
    connection) costs one line per window instead of one per occurrence. The repeats are counted and
    the next line written for that key carries ``"suppressed": n``. Debug and info lines pass untouched.
    """

    MAX_KEYS = 10_000

    def __init__(self, window: float) -> None:
        super().__init__()
        self._window = window
        self._seen: dict[tuple[str, str, str, str], list[float]] = {}  # key -> [last written, suppressed]

    @staticmethod
    def _cause(record: logging.LogRecord) -> str:
        if not record.exc_info or record.exc_info[1] is None:
            return ""
        exc = record.exc_info[1]
        errno = getattr(exc, "errno", None)
        return f"{type(exc).__name__}:{errno}" if errno is not None else f"{type(exc).__name__}:{str(exc)[:200]}"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self._window <= 0:
            return True
        key = (record.name, str(record.msg), repr(record.args)[:200], self._cause(record))
        entry = self._seen.get(key)
        if entry is not None and record.created - entry[0] < self._window:
            entry[1] += 1
            return False
        if entry is None and len(self._seen) >= self.MAX_KEYS:
            for old in list(self._seen)[: self.MAX_KEYS // 2]:
                del self._seen[old]
        self._seen[key] = [record.created, 0.0]
        if entry is not None and entry[1]:
            fields = dict(getattr(record, _FIELDS_ATTR, None) or {})
            fields["suppressed"] = int(entry[1])
            setattr(record, _FIELDS_ATTR, fields)
        return True


class Log:
    """A named logger that takes an event name and keyword fields."""

    __slots__ = ("_logger",)

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(f"openim.{name}" if not name.startswith("openim") else name)

    def _emit(self, level: int, event: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, exc_info=exc_info, extra={_FIELDS_ATTR: fields}, stacklevel=3)

    def debug(self, event: str, **fields: Any) -> None:
        self._emit(logging.DEBUG, event, False, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._emit(logging.INFO, event, False, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._emit(logging.WARNING, event, False, fields)

    def error(self, event: str, *, exc_info: bool = False, **fields: Any) -> None:
        self._emit(logging.ERROR, event, exc_info, fields)

    def enabled(self, level: int) -> bool:
        return self._logger.isEnabledFor(level)


def get_log(name: str) -> Log:
    return Log(name)


def setup_logging(
    level: str = "info", fmt: Literal["auto", "json", "human"] = "auto", repeat_window: float = 10.0
) -> None:
    """Configure the root of our loggers once per process (idempotent)."""
    use_human = fmt == "human" or (fmt == "auto" and sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(HumanFormatter() if use_human else JsonFormatter())
    handler.addFilter(RepeatFilter(repeat_window))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("openim").setLevel(level.upper())
    # Library chatter we do not want at info level (hypercorn's access log, asyncio debug notices).
    for noisy in ("hypercorn.access", "hypercorn.error", "asyncio", "trio-websocket"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
