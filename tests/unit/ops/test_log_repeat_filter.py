"""Repeated identical errors are written once per window (openim.ops.logging.RepeatFilter)."""

from __future__ import annotations

import errno
import logging

from openim.ops.logging import RepeatFilter


def _record(
    msg: str, created: float, exc: BaseException | None = None, level: int = logging.ERROR
) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    record = logging.LogRecord("trio.serve_listeners", level, __file__, 1, msg, ("EMFILE",), exc_info)
    record.created = created
    return record


def test_identical_errors_are_counted_not_written_within_the_window() -> None:
    flt = RepeatFilter(10.0)
    emfile = OSError(errno.EMFILE, "Too many open files")
    assert flt.filter(_record("accept returned %s", 0.0, emfile))
    written = [flt.filter(_record("accept returned %s", t / 10, emfile)) for t in range(1, 100)]
    assert not any(written)
    later = _record("accept returned %s", 10.5, emfile)
    assert flt.filter(later)
    assert later.openim_fields == {"suppressed": 99}  # type: ignore[attr-defined]


def test_other_causes_levels_and_a_zero_window_pass() -> None:
    flt = RepeatFilter(10.0)
    assert flt.filter(_record("x %s", 0.0, OSError(errno.EMFILE, "a")))
    assert flt.filter(_record("x %s", 0.1, OSError(errno.ENFILE, "b")))  # another errno
    assert flt.filter(_record("y %s", 0.2))  # another event
    assert all(flt.filter(_record("x %s", 0.3, level=logging.INFO)) for _ in range(3))  # info passes
    off = RepeatFilter(0)
    assert all(off.filter(_record("x %s", 0.0, OSError(errno.EMFILE, "a"))) for _ in range(3))
