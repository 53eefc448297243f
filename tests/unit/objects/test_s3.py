"""The S3 backend against a local fake store (httpx MockTransport) that checks every request's SigV4
signature, path style and query, and keeps objects in memory; the object service runs on top with a
real SQLite store, so the whole upload flow (multipart and single part) is exercised."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from openim.config import ObjectStorageConfig
from openim.objects import sigv4
from openim.objects.s3 import S3Backend
from openim.objects.service import ObjectService
from openim.storage.sql.sqlite import SqliteStore

pytestmark = pytest.mark.trio

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
MIB = 1024 * 1024
CFG = ObjectStorageConfig(
    backend="s3",
    s3_endpoint="http://s3.local:9000",
    s3_public_endpoint="https://files.example.com",
    s3_bucket="im",
    s3_access_key="AK",
    s3_secret_key="SK",
    s3_region="eu-1",
)
CREDS = sigv4.Credentials("AK", "SK", "eu-1")


class FakeS3:
    """Just enough S3: checks signatures the way S3 does (recomputing them) and stores bytes."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.multipart: dict[str, dict[int, bytes]] = {}
        self.calls: list[str] = []

    def _check_signature(self, request: httpx.Request) -> None:
        url = str(request.url)
        query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
        if "X-Amz-Signature" in dict(query):  # presigned: same inputs must give the same URL
            params = [(k, v) for k, v in query if not k.startswith("X-Amz-")]
            expires = int(dict(query)["X-Amz-Expires"])
            base = url.split("?", 1)[0].replace("http://files.example.com", "https://files.example.com")
            assert sigv4.presign(CREDS, request.method, base, expires_s=expires, when=NOW, query=params) == url.replace(
                "http://files.example.com", "https://files.example.com"
            )
            return
        auth = request.headers["authorization"]
        signed = re.search(r"SignedHeaders=([^,]+)", auth)
        assert signed is not None
        names = [n for n in signed.group(1).split(";") if n not in ("host", "x-amz-date", "x-amz-content-sha256")]
        expected = sigv4.sign_headers(
            CREDS,
            request.method,
            url.split("?", 1)[0],
            when=NOW,
            query=query,
            headers={n: request.headers[n] for n in names},
            payload=request.content,
        )
        assert auth == expected["authorization"], "signature mismatch"
        assert request.headers["x-amz-content-sha256"] == hashlib.sha256(request.content).hexdigest()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self._check_signature(request)
        parts = urlsplit(str(request.url))
        assert parts.path.startswith("/im"), "path-style URLs name the bucket first"
        key = parts.path[len("/im/") :]
        q = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.calls.append(f"{request.method} {key} {sorted(k for k in q if not k.startswith('X-Amz'))}")
        if request.method == "HEAD" and not key:
            return httpx.Response(200)
        if request.method == "POST" and "uploads" in q:
            self.multipart["up-1"] = {}
            return httpx.Response(
                200, content=b"<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>"
            )
        if request.method == "PUT" and "partNumber" in q:
            self.multipart[q["uploadId"]][int(q["partNumber"])] = request.content
            return httpx.Response(200, headers={"ETag": f'"{hashlib.md5(request.content).hexdigest()}"'})
        if request.method == "POST" and "uploadId" in q:
            parts_xml = request.content.decode()
            etags = re.findall(r"<ETag>\"([0-9a-f]+)\"</ETag>", parts_xml)
            stored = self.multipart.pop(q["uploadId"])
            if [hashlib.md5(stored[n]).hexdigest() for n in sorted(stored)] != etags:
                return httpx.Response(400, content=b"<Error><Code>InvalidPart</Code></Error>")
            self.objects[key] = b"".join(stored[n] for n in sorted(stored))
            return httpx.Response(200, content=b"<CompleteMultipartUploadResult/>")
        if request.method == "PUT" and "x-amz-copy-source" in request.headers:
            source = request.headers["x-amz-copy-source"].removeprefix("/im/")
            self.objects[key] = self.objects[source]
            return httpx.Response(200, content=b"<CopyObjectResult/>")
        if request.method == "PUT":
            self.objects[key] = request.content
            return httpx.Response(200, headers={"ETag": f'"{hashlib.md5(request.content).hexdigest()}"'})
        if request.method == "HEAD":
            if key not in self.objects:
                return httpx.Response(404)
            data = self.objects[key]
            return httpx.Response(
                200, headers={"Content-Length": str(len(data)), "ETag": f'"{hashlib.md5(data).hexdigest()}"'}
            )
        if request.method == "DELETE":
            self.objects.pop(key, None)
            return httpx.Response(204)
        if request.method == "GET":
            return httpx.Response(200, content=self.objects[key]) if key in self.objects else httpx.Response(404)
        return httpx.Response(405)


Env = tuple[ObjectService, FakeS3, httpx.AsyncClient]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Env]:
    fake = FakeS3()
    transport = httpx.MockTransport(fake)
    store = SqliteStore(tmp_path / "openim.db")
    await store.open()
    backend = S3Backend(CFG, transport=transport, clock=lambda: NOW)
    await backend.check()
    async with httpx.AsyncClient(transport=transport) as client:
        yield ObjectService(store, backend, CFG), fake, client
    await backend.aclose()
    await store.aclose()


async def _upload(service: ObjectService, client: httpx.AsyncClient, name: str, data: bytes, part: int) -> str:
    chunks = [data[i : i + part] for i in range(0, len(data), part)]
    md5s = [hashlib.md5(c).hexdigest() for c in chunks]
    content_hash = hashlib.md5(",".join(md5s).encode()).hexdigest()
    ticket = await service.initiate(
        user_id="u1",
        is_admin=False,
        name=name,
        content_hash=content_hash,
        size=len(data),
        part_size=part,
        content_type="application/octet-stream",
        cause="",
        url_prefix="http://api/object/",
    )
    if ticket.url:
        return ticket.url
    assert len(ticket.parts) == len(chunks)
    for target, chunk in zip(ticket.parts, chunks, strict=True):
        assert target.url.startswith("https://files.example.com/im/openim/"), "clients get the public endpoint"
        assert (await client.put(target.url, content=chunk)).status_code == 200
    return await service.complete(
        user_id="u1",
        is_admin=False,
        upload_id=ticket.upload_id,
        part_md5s=md5s,
        name=name,
        content_type="application/octet-stream",
        cause="",
        url_prefix="http://api/object/",
    )


async def test_multipart_upload_lands_on_the_hash_key_and_reads_redirect(service: Env) -> None:
    objects, fake, client = service
    data = b"x" * (5 * MIB) + b"tail"
    url = await _upload(objects, client, "u1/big.bin", data, 5 * MIB)
    assert url == "http://api/object/u1/big.bin"
    content_hash = hashlib.md5(",".join(hashlib.md5(c).hexdigest() for c in (data[: 5 * MIB], b"tail")).encode())
    assert fake.objects[f"openim/data/hash/{content_hash.hexdigest()}"] == data
    _, where = await objects.find("u1/big.bin")
    assert where.redirect.startswith("https://files.example.com/im/openim/data/hash/")
    assert "response-content-type=application%2Foctet-stream" in where.redirect
    assert (await client.get(where.redirect)).content == data


async def test_single_part_upload_is_checked_copied_and_the_temp_key_removed(service: Env) -> None:
    objects, fake, client = service
    url = await _upload(objects, client, "u1/small.txt", b"small file", 5 * MIB)
    assert url.endswith("/u1/small.txt")
    one_part_hash = hashlib.md5(hashlib.md5(b"small file").hexdigest().encode()).hexdigest()
    assert list(fake.objects) == [f"openim/data/hash/{one_part_hash}"]
    assert any(c.startswith("PUT openim/data/hash/") for c in fake.calls)  # the server-side copy
    # The same bytes again: instant, nothing uploaded.
    before = len(fake.calls)
    assert (await _upload(objects, client, "u1/again.txt", b"small file", 5 * MIB)).endswith("/u1/again.txt")
    assert [c.split()[0] for c in fake.calls[before:]] == ["HEAD"]


async def test_multipart_parts_below_5_mib_are_refused_for_s3(service: Env) -> None:
    objects, _, client = service
    from openim.wire.errors import OpenIMError

    with pytest.raises(OpenIMError):
        await _upload(objects, client, "u1/tiny-parts.bin", b"abcdef", 2)
