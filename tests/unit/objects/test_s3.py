"""The S3 backend against a local fake store (httpx MockTransport) that checks every request's SigV4
signature, path style and query (and a browser form's POST policy, as S3 does), and keeps objects in
memory; the object service runs on top with a real SQLite store, so the whole upload flow (multipart,
single part and form) is exercised."""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from openim.config import ObjectStorageConfig
from openim.objects import sigv4
from openim.objects.s3 import S3Backend
from openim.objects.service import ObjectService
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.errors import ErrCode, OpenIMError

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
        self.content_types: dict[str, str] = {}
        self.multipart: dict[str, dict[int, bytes]] = {}
        self.calls: list[str] = []
        # The store's clock when a form arrives. Forms expire by the real clock (the service's), which the
        # backend's fixed signing time (NOW) does not move.
        self.now = dt.datetime.now(dt.UTC)

    def _form_post(self, request: httpx.Request) -> httpx.Response:
        """A browser form upload, judged the way S3 judges it: signature over the base64 policy, expiry,
        every field bound by a condition, the size in its range; then stored under the form's key."""
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
        fields: dict[str, str] = {}
        file = b""
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "file":
                file = part.get_payload(decode=True) or b""
                break  # S3 ignores what follows the file
            fields[str(name)] = part.get_content().strip("\r\n") if part.get_content_type() else ""
        policy_b64 = fields.pop("policy")
        credential = fields["x-amz-credential"].split("/")
        creds = sigv4.Credentials(credential[0], "SK", credential[2])
        if sigv4.post_policy_signature(creds, policy_b64, credential[1]) != fields.pop("x-amz-signature"):
            return httpx.Response(403, content=b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
        policy = json.loads(base64.b64decode(policy_b64))
        expiration = dt.datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=dt.UTC)
        if expiration <= self.now:
            return httpx.Response(403, content=b"<Error><Code>AccessDenied</Code><Message>expired</Message></Error>")
        bound: dict[str, str] = {}
        for condition in policy["conditions"]:
            if isinstance(condition, dict):
                if condition.get("bucket", "im") != "im":
                    return httpx.Response(403)
            elif condition[0] == "eq":
                bound[condition[1][1:]] = condition[2]
            elif condition[0] == "content-length-range" and not condition[1] <= len(file) <= condition[2]:
                return httpx.Response(400, content=b"<Error><Code>EntityTooLarge</Code></Error>")
        if fields != bound:  # an unbound extra field, a missing one, or a changed value
            return httpx.Response(403, content=b"<Error><Code>AccessDenied</Code></Error>")
        self.objects[fields["key"]] = file
        self.content_types[fields["key"]] = fields.get("Content-Type", "binary/octet-stream")
        return httpx.Response(int(fields.get("success_action_status", "204")))

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
        if request.method == "POST" and "multipart/form-data" in request.headers.get("content-type", ""):
            assert str(request.url) == "https://files.example.com/im/", "clients POST forms to the public bucket URL"
            return self._form_post(request)
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
    with pytest.raises(OpenIMError):
        await _upload(objects, client, "u1/tiny-parts.bin", b"abcdef", 2)


async def _form(objects: ObjectService, name: str, size: int, content_type: str = "image/png") -> Any:
    return await objects.initiate_form(
        user_id="u1", is_admin=False, name=name, size=size, content_type=content_type, group="avatar",
        millisecond=0, url_prefix="http://api/object/",
    )


def _post(client: httpx.AsyncClient, ticket: Any, data: bytes, **changed: str) -> Any:
    fields = {**dict(ticket.target.fields), **changed}
    return client.post(ticket.target.url, data=fields, files={ticket.target.file_field: ("f", data, "image/png")})


async def test_form_upload_goes_straight_to_the_store_under_a_signed_policy(service: Env) -> None:
    objects, fake, client = service
    data = b"\x89PNG" + bytes(range(256)) * 10
    ticket = await _form(objects, "u1/pic.png", len(data))
    assert ticket.target.url == "https://files.example.com/im/"
    assert ticket.target.file_field == "file" and ticket.target.success_codes == (200,)
    fields = dict(ticket.target.fields)
    key = fields["key"]
    assert key == f"openim/direct/20260102/u1/{ticket.form_id}.png"
    with pytest.raises(OpenIMError) as not_yet:
        await objects.complete_form(user_id="u1", is_admin=False, form_id=ticket.form_id, url_prefix="http://api/object/")
    assert not_yet.value.code == ErrCode.RECORD_NOT_FOUND
    assert (await _post(client, ticket, data)).status_code == 200
    assert fake.objects[key] == data and fake.content_types[key] == "image/png"
    url = await objects.complete_form(user_id="u1", is_admin=False, form_id=ticket.form_id,
                                      url_prefix="http://api/object/")
    assert url == "http://api/object/u1/pic.png"
    obj, where = await objects.find("u1/pic.png")
    assert obj.key == key and obj.hash == "etag_" + hashlib.md5(data).hexdigest() and obj.cause == "avatar"
    assert where.redirect.startswith(f"https://files.example.com/im/{key}?")
    assert (await client.get(where.redirect)).content == data
    assert key in fake.objects, "completing keeps the posted object: it is the blob"


async def test_s3_refuses_changed_fields_sizes_and_expired_forms(service: Env) -> None:
    objects, fake, client = service
    ticket = await _form(objects, "u1/x.png", 10)
    fields = dict(ticket.target.fields)
    assert (await _post(client, ticket, b"0123456789", key="u1/elsewhere")).status_code == 403
    assert (await _post(client, ticket, b"0123456789", **{"Content-Type": "text/html"})).status_code == 403
    assert (await _post(client, ticket, b"0123456789", policy=fields["policy"][:-4] + "AAA=")).status_code == 403
    assert (await _post(client, ticket, b"01234567890")).status_code == 400
    fake.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)  # the form is valid 10 minutes
    assert (await _post(client, ticket, b"0123456789")).status_code == 403
    assert fake.objects == {}
    fake.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=9)
    assert (await _post(client, ticket, b"0123456789")).status_code == 200


async def test_an_abandoned_form_is_swept_with_its_object(service: Env) -> None:
    objects, fake, client = service
    ticket = await _form(objects, "u1/gone.png", 3)
    assert (await _post(client, ticket, b"abc")).status_code == 200
    upload = await objects._store.get_upload(ticket.form_id)
    assert upload is not None and upload.is_form
    await objects.backend.abort(upload)  # what the sweeper does once the session expired
    assert fake.objects == {}
