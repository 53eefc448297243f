"""The streaming multipart/form-data reader: fields whole, a file in pieces, fed any way the bytes come."""

from __future__ import annotations

import httpx
import pytest

from openim.objects.form_stream import (
    Done,
    Field,
    FileData,
    FileEnd,
    FileStart,
    FormError,
    FormReader,
    boundary_of,
)


def _encoded(fields: dict[str, str], data: bytes) -> tuple[bytes, str]:
    """A body as httpx (the tests' browser) encodes it: the fields, then the file."""
    request = httpx.Request("POST", "http://x/", data=fields, files={"file": ("log.zip", data, "application/zip")})
    return request.read(), request.headers["content-type"]


def _read(body: bytes, content_type: str, step: int) -> list[object]:
    reader = FormReader(boundary_of(content_type))
    events: list[object] = []
    for i in range(0, len(body), step):
        events += reader.feed(body[i : i + step])
    reader.close()
    return events


@pytest.mark.parametrize("step", [1, 2, 7, 64, 1 << 20])
def test_fields_then_the_file_whatever_the_chunking(step: int) -> None:
    data = bytes(range(256)) * 40 + b"\r\n--not-the-boundary\r\n"
    body, ctype = _encoded({"policy": "p0", "signature": "s1", "Content-Type": "application/zip"}, data)
    events = _read(body, ctype, step)
    assert events[:4] == [
        Field("policy", "p0"),
        Field("signature", "s1"),
        Field("Content-Type", "application/zip"),
        FileStart("file", "log.zip", "application/zip"),
    ]
    assert b"".join(e.data for e in events if isinstance(e, FileData)) == data
    assert events[-2:] == [FileEnd(), Done()]


def test_an_empty_file_and_quoted_names() -> None:
    body = (
        b"preamble\r\n--B\r\nContent-Disposition: form-data; name=\"a \\\"q\\\"\"\r\n\r\nv\r\n"
        b"--B\r\nContent-Disposition: form-data; name=file; filename=\"\"\r\n\r\n\r\n--B--\r\nepilogue"
    )
    assert _read(body, "multipart/form-data; boundary=B", 3) == [
        Field('a "q"', "v"),
        FileStart("file", "", ""),
        FileEnd(),
        Done(),
    ]


def test_malformed_bodies_are_refused() -> None:
    with pytest.raises(FormError):
        boundary_of("application/json")
    with pytest.raises(FormError):
        boundary_of("multipart/form-data")
    with pytest.raises(FormError):  # cut short
        _read(b"--B\r\nContent-Disposition: form-data; name=x\r\n\r\nval", "multipart/form-data; boundary=B", 4)
    with pytest.raises(FormError):  # a part that is not form-data
        _read(b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--", "multipart/form-data; boundary=B", 4)
    with pytest.raises(FormError):  # a field past its limit
        big = b"--B\r\nContent-Disposition: form-data; name=x\r\n\r\n" + b"v" * 70_000 + b"\r\n--B--"
        _read(big, "multipart/form-data; boundary=B", 4096)
