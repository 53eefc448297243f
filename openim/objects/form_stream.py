"""A streaming multipart/form-data reader (RFC 7578) for form uploads, sans I/O.

Bytes go in as they arrive (:meth:`FormReader.feed`); events come out: each plain field whole
(:class:`Field`, bounded in size and number), then a file part as :class:`FileStart`, its bytes as
:class:`FileData` pieces and :class:`FileEnd`. A file is never held in memory: its data is handed on as
soon as it cannot be the beginning of the closing boundary. Malformed input raises :class:`FormError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

MAX_HEADER_BYTES: Final = 16 * 1024  # the header block of one part
MAX_FIELD_BYTES: Final = 64 * 1024  # the value of one plain field
MAX_FIELDS: Final = 64

_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


class FormError(ValueError):
    """The body is not well-formed multipart/form-data (or breaks a limit)."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class FileStart:
    name: str
    filename: str
    content_type: str


@dataclass(frozen=True, slots=True)
class FileData:
    data: bytes


@dataclass(frozen=True, slots=True)
class FileEnd:
    pass


@dataclass(frozen=True, slots=True)
class Done:
    """The closing boundary was read: nothing follows but an epilogue."""


Event = Field | FileStart | FileData | FileEnd | Done


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type header, or FormError."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise FormError("Content-Type must be multipart/form-data")
    for match in _PARAM.finditer(";" + params):
        if match.group(1).lower() == "boundary":
            value = match.group(2) if match.group(2) is not None else match.group(3)
            if value and len(value) <= 200 and value.isascii():
                return value.encode("ascii")
    raise FormError("multipart/form-data without a valid boundary")


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    """(name, filename or None) of a part's Content-Disposition."""
    value = headers.get("content-disposition", "")
    kind, _, params = value.partition(";")
    if kind.strip().lower() != "form-data":
        raise FormError("a part without Content-Disposition: form-data")
    found: dict[str, str] = {}
    for match in _PARAM.finditer(";" + params):
        raw = match.group(2)
        found[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", raw) if raw is not None else match.group(3)
    if "name" not in found:
        raise FormError("a part without a name")
    return found["name"], found.get("filename")


class _State(Enum):
    BOUNDARY_END = auto()  # right after a boundary: "--" (the end) or CRLF (a part follows)
    HEADERS = auto()
    FIELD = auto()
    FILE = auto()
    DONE = auto()


class FormReader:
    """``file_field``: the part that is the file even without a filename (S3 reads ``file`` so)."""

    def __init__(self, boundary: bytes, file_field: str = "file") -> None:
        self._file_field = file_field
        # The stream is read as if it began with CRLF, so the first boundary looks like every other.
        self._delimiter = b"\r\n--" + boundary
        self._buf = bytearray(b"\r\n")
        self._state: _State | None = None  # None: before the first boundary (the preamble)
        self._field_name = ""
        self._field = bytearray()
        self._fields = 0

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    def feed(self, data: bytes) -> list[Event]:
        """The events ``data`` completes."""
        self._buf += data
        events: list[Event] = []
        while self._step(events):
            pass
        return events

    def close(self) -> None:
        """The body ended: FormError unless the closing boundary was read."""
        if self._state is not _State.DONE:
            raise FormError("the form ended before its closing boundary")

    def _step(self, events: list[Event]) -> bool:
        """Advance once; False when more input is needed."""
        buf = self._buf
        if self._state is None:
            at = buf.find(self._delimiter)
            if at < 0:
                del buf[: max(0, len(buf) - len(self._delimiter))]
                return False
            del buf[: at + len(self._delimiter)]
            self._state = _State.BOUNDARY_END
            return True
        if self._state is _State.BOUNDARY_END:
            if len(buf) < 2:
                return False
            if buf[:2] == b"--":
                self._state = _State.DONE
                events.append(Done())
                buf.clear()
                return False
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > 256:
                    raise FormError("garbage after a boundary")
                return False
            if buf[:end].strip(b" \t"):
                raise FormError("garbage after a boundary")
            del buf[: end + 2]
            self._state = _State.HEADERS
            return True
        if self._state is _State.HEADERS:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEADER_BYTES:
                    raise FormError("part headers too large")
                return False
            headers = self._headers(bytes(buf[:end]))
            del buf[: end + 4]
            name, filename = _disposition(headers)
            if filename is None and name != self._file_field:
                self._fields += 1
                if self._fields > MAX_FIELDS:
                    raise FormError(f"more than {MAX_FIELDS} fields")
                self._field_name = name
                self._field.clear()
                self._state = _State.FIELD
            else:
                events.append(FileStart(name, filename or "", headers.get("content-type", "")))
                self._state = _State.FILE
            return True
        if self._state in (_State.FIELD, _State.FILE):
            at = buf.find(self._delimiter)
            # Without the delimiter, everything but a tail that could begin it is the part's data.
            usable = at if at >= 0 else max(0, len(buf) - len(self._delimiter) + 1)
            if usable:
                self._data(bytes(buf[:usable]), events)
                del buf[:usable]
            if at < 0:
                return False
            del buf[: len(self._delimiter)]
            if self._state is _State.FIELD:
                try:
                    value = self._field.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise FormError(f"field {self._field_name} is not UTF-8") from exc
                events.append(Field(self._field_name, value))
            else:
                events.append(FileEnd())
            self._state = _State.BOUNDARY_END
            return True
        return False  # DONE: the epilogue is ignored

    def _data(self, data: bytes, events: list[Event]) -> None:
        if self._state is _State.FILE:
            events.append(FileData(data))
            return
        self._field += data
        if len(self._field) > MAX_FIELD_BYTES:
            raise FormError(f"field {self._field_name} is larger than {MAX_FIELD_BYTES} bytes")

    @staticmethod
    def _headers(block: bytes) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in block.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if not sep:
                raise FormError("a malformed part header")
            headers[key.strip().lower()] = value.strip()
        return headers
