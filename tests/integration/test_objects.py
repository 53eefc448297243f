"""/object/* against a real server with the local-disk backend: the SDK's upload flow done by hand
(part_size -> initiate -> PUT parts -> complete -> GET), and the rules around it: who may write which
name, md5 checks, size and type limits, deduplication, expiry of a session, URL prefixes."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ServerProcess

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server_extra_config() -> str:
    return "object_storage: {max_file_size: 12MiB, content_types: ['text/*', 'image/*', 'application/octet-stream']}\n"


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _split(data: bytes, part: int) -> list[bytes]:
    return [data[i : i + part] for i in range(0, len(data), part)] or [b""]


def _envelope(server: ServerProcess, path: str, body: Any, token: str) -> dict[str, Any]:
    # The SDK sends these bodies as text/plain: the server must read them as JSON anyway.
    resp = httpx.post(
        server.api_url + path,
        content=httpx.Request("POST", "/", json=body).content,
        headers={"operationID": f"it-{time.time_ns()}", "token": token, "Content-Type": "text/plain;charset=UTF-8"},
        timeout=15,
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _upload(server: ServerProcess, token: str, name: str, data: bytes, content_type: str) -> dict[str, Any]:
    """The SDK's flow; returns complete's (or initiate's instant) envelope."""
    part = _envelope(server, "/object/part_size", {"size": len(data)}, token)["data"]["size"]
    chunks = _split(data, part)
    md5s = [_md5(c) for c in chunks]
    content_hash = _md5(",".join(md5s).encode())
    init = _envelope(
        server,
        "/object/initiate_multipart_upload",
        {
            "hash": content_hash,
            "size": len(data),
            "partSize": part,
            "maxParts": -1,
            "cause": "",
            "name": name,
            "contentType": content_type,
        },
        token,
    )
    if init["errCode"] or init["data"]["url"]:
        return init
    upload = init["data"]["upload"]
    assert len(upload["sign"]["parts"]) == len(chunks)
    for i, sign in enumerate(upload["sign"]["parts"]):
        url = sign["url"] or upload["sign"]["url"]
        put = httpx.put(url, content=chunks[i], headers={"Content-Type": content_type}, timeout=15)
        assert put.status_code == 200, put.text
    return _envelope(
        server,
        "/object/complete_multipart_upload",
        {"uploadID": upload["uploadID"], "parts": md5s, "cause": "", "name": name, "contentType": content_type},
        token,
    )


@pytest.fixture(scope="module")
def alice(server: ServerProcess) -> tuple[str, str]:
    user = f"obj_alice_{time.time_ns()}"
    server.call("/user/user_register", {"users": [{"userID": user, "nickname": "alice"}]}, token=server.admin_token())
    return user, server.user_token(user)


def test_part_size_and_limits_follow_minio(server: ServerProcess, alice: tuple[str, str]) -> None:
    _, token = alice
    limits = server.call("/object/part_limit", {}, token=token)
    assert limits == {"minPartSize": 5 * MIB, "maxPartSize": 5 * 1024 * MIB, "maxNumSize": 10000}
    assert server.call("/object/part_size", {"size": 1}, token=token) == {"size": 5 * MIB}
    assert _envelope(server, "/object/part_size", {"size": 0}, token)["errCode"] == 1001


def test_multipart_upload_then_anyone_with_the_url_downloads_it(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    data = bytes(range(256)) * (11 * MIB // 256)  # 11 MiB: three parts
    env = _upload(server, token, f"{user}/big.bin", data, "application/octet-stream")
    assert env["errCode"] == 0, env
    url = env["data"]["url"]
    assert url == f"{server.api_url}/object/{user}/big.bin"
    got = httpx.get(url, timeout=15)  # no token: the URL is the capability, as in OpenIM
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "application/octet-stream"
    access = server.call("/object/access_url", {"name": f"{user}/big.bin"}, token=token)
    assert access["url"] == url and access["expireTime"] > time.time() * 1000


def test_same_content_twice_is_an_instant_upload(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    data = b"same bytes " * 1000
    first = _upload(server, token, f"{user}/one.txt", data, "text/plain")
    assert first["errCode"] == 0 and first["data"]["url"].endswith("/one.txt")
    part = 5 * MIB
    md5s = [_md5(c) for c in _split(data, part)]
    init = _envelope(
        server,
        "/object/initiate_multipart_upload",
        {
            "hash": _md5(",".join(md5s).encode()),
            "size": len(data),
            "partSize": part,
            "maxParts": -1,
            "name": f"{user}/two.txt",
            "contentType": "text/plain",
        },
        token,
    )
    assert init["errCode"] == 0
    assert init["data"] == {"url": f"{server.api_url}/object/{user}/two.txt", "upload": None}
    assert httpx.get(init["data"]["url"], timeout=10).content == data


def test_a_user_writes_only_under_its_own_name(server: ServerProcess, alice: tuple[str, str]) -> None:
    _, token = alice
    env = _upload(server, token, "someone_else/x.txt", b"x", "text/plain")
    assert env["errCode"] == 1002


def test_admin_may_write_any_name(server: ServerProcess) -> None:
    env = _upload(server, server.admin_token(), "shared/logo.txt", b"logo", "text/plain")
    assert env["errCode"] == 0


def test_limits_on_size_and_type(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    too_big = _envelope(
        server,
        "/object/initiate_multipart_upload",
        {
            "hash": "0" * 32,
            "size": 13 * MIB,
            "partSize": 5 * MIB,
            "name": f"{user}/huge.bin",
            "contentType": "application/octet-stream",
        },
        token,
    )
    assert too_big["errCode"] == 1001 and "larger than the limit" in too_big["errDlt"]
    exe = _upload(server, token, f"{user}/tool.exe", b"MZ", "application/x-msdownload")
    assert exe["errCode"] == 1001 and "not accepted" in exe["errDlt"]
    bad_hash = _envelope(
        server,
        "/object/initiate_multipart_upload",
        {"hash": "nothex", "size": 3, "partSize": 5 * MIB, "name": f"{user}/a.txt", "contentType": "text/plain"},
        token,
    )
    assert bad_hash["errCode"] == 1001


def test_wrong_part_bytes_are_refused_at_complete(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    data = b"the real content"
    md5s = [_md5(data)]
    init = _envelope(
        server,
        "/object/initiate_multipart_upload",
        {
            "hash": _md5(",".join(md5s).encode()),
            "size": len(data),
            "partSize": 5 * MIB,
            "name": f"{user}/c.txt",
            "contentType": "text/plain",
        },
        token,
    )["data"]["upload"]
    forged = b"forged content!!"
    assert len(forged) == len(data)
    assert httpx.put(init["sign"]["parts"][0]["url"], content=forged, timeout=10).status_code == 200
    done = _envelope(
        server,
        "/object/complete_multipart_upload",
        {"uploadID": init["uploadID"], "parts": md5s, "name": f"{user}/c.txt", "contentType": "text/plain"},
        token,
    )
    assert done["errCode"] == 1001 and "md5 mismatch" in done["errDlt"]
    # A part of the wrong size is refused at once, and an unknown session is 404.
    assert httpx.put(init["sign"]["parts"][0]["url"], content=b"short", timeout=10).status_code == 400
    assert httpx.put(f"{server.api_url}/object/.upload/nope?partNumber=1", content=b"x", timeout=10).status_code == 404


def test_url_prefix_from_x_request_api_and_unknown_objects(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    _upload(server, token, f"{user}/p.txt", b"prefix", "text/plain")
    resp = httpx.post(
        server.api_url + "/object/access_url",
        json={"name": f"{user}/p.txt"},
        headers={"operationID": "op", "token": token, "X-Request-Api": "https://chat.example.com/api/"},
        timeout=10,
    )
    assert resp.json()["data"]["url"] == f"https://chat.example.com/api/object/{user}/p.txt"
    missing = server.post("/object/access_url", {"name": f"{user}/missing"}, token=token).json()
    assert missing["errCode"] == 1004
    assert httpx.get(f"{server.api_url}/object/{user}/missing", timeout=10).status_code == 404


def test_part_upload_accepts_a_browser_preflight(server: ServerProcess) -> None:
    resp = httpx.options(
        f"{server.api_url}/object/.upload/abc?partNumber=1",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == "*"
    assert resp.headers["access-control-allow-methods"] == "*"
