"""Browser form uploads against a real server with the local-disk backend: /object/initiate_form_data,
a real multipart/form-data POST of the file (httpx, as a browser sends it) to the URL it hands out, then
/object/complete_form_data; and everything the POST and the two routes refuse: forged, altered, expired
or borrowed policies, wrong sizes and types, other users' names and sessions."""

from __future__ import annotations

import hashlib
import socket
import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ServerProcess

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server_extra_config() -> str:
    return "object_storage: {max_file_size: 12MiB, content_types: ['text/*', 'image/*', 'application/octet-stream']}\n"


@pytest.fixture(scope="module")
def alice(server: ServerProcess) -> tuple[str, str]:
    user = f"form_alice_{time.time_ns()}"
    server.call("/user/user_register", {"users": [{"userID": user, "nickname": "alice"}]}, token=server.admin_token())
    return user, server.user_token(user)


def _env(server: ServerProcess, path: str, body: Any, token: str) -> dict[str, Any]:
    resp = server.post(path, body, token=token)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _initiate(server: ServerProcess, token: str, name: str, size: int, content_type: str, **extra: Any) -> Any:
    body = {"name": name, "size": size, "contentType": content_type, "group": "avatar", **extra}
    return server.call("/object/initiate_form_data", body, token=token)


def _post(form: dict[str, Any], data: bytes, *, fields: dict[str, str] | None = None,
          url: str | None = None, content_type: str = "application/octet-stream") -> httpx.Response:
    """The browser's POST: every form field, then the file."""
    return httpx.post(
        url or form["url"],
        data=form["formData"] if fields is None else fields,
        files={form["file"]: ("upload.bin", data, content_type)},
        timeout=30,
    )


def _declared_too_large(server: ServerProcess, form_id: str) -> bytes:
    """The status line of a form announcing 20 MiB (over the 12 MiB limit): answered before any body."""
    host, port = server.api_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST /object/.form/{form_id} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: {20 * MIB}\r\n\r\n".encode()
        )
        return sock.recv(4096)


def test_form_upload_end_to_end(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    data = bytes(range(256)) * (6 * MIB // 256) + b"tail"  # over one SDK part: hashed in two
    before = time.time() * 1000
    form = _initiate(server, token, f"{user}/photo.png", len(data), "image/png")
    assert form["url"] == f"{server.api_url}/object/.form/{form['id']}"
    assert form["file"] == "file" and form["successCodes"] == [200]
    assert set(form["formData"]) == {"policy", "signature", "Content-Type"}
    assert form["formData"]["Content-Type"] == "image/png"
    assert before + 9 * 60_000 < form["expires"] < time.time() * 1000 + 10 * 60_000 + 1000
    posted = _post(form, data, content_type="image/png")
    assert posted.status_code in form["successCodes"], posted.text
    assert posted.headers["access-control-allow-origin"] == "*"

    done = server.call("/object/complete_form_data", {"id": form["id"]}, token=token)
    assert done["url"] == f"{server.api_url}/object/{user}/photo.png"
    got = httpx.get(done["url"], timeout=30)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/png"
    # Completed once: the session is gone, and its form with it.
    again = _env(server, "/object/complete_form_data", {"id": form["id"]}, token)
    assert again["errCode"] == 1701
    assert _post(form, b"x").status_code == 404  # (the answer does not depend on the body)

    # The blob was hashed as the SDK hashes: a multipart upload of the same bytes is instant.
    md5s = [hashlib.md5(data[i : i + 5 * MIB]).hexdigest() for i in range(0, len(data), 5 * MIB)]
    init = server.call(
        "/object/initiate_multipart_upload",
        {"hash": hashlib.md5(",".join(md5s).encode()).hexdigest(), "size": len(data), "partSize": 5 * MIB,
         "name": f"{user}/copy.png", "contentType": "image/png"},
        token=token,
    )
    assert init["url"] == f"{server.api_url}/object/{user}/copy.png"


def test_url_prefix_follows_x_request_api(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    resp = server.post(
        "/object/initiate_form_data",
        {"name": f"{user}/p.txt", "size": 2, "contentType": "text/plain"},
        token=token,
        **{"X-Request-Api": "https://chat.example.com/api"},
    )
    assert resp.json()["data"]["url"].startswith("https://chat.example.com/api/object/.form/")


def test_forged_altered_borrowed_and_expired_policies_are_refused(server: ServerProcess,
                                                                  alice: tuple[str, str]) -> None:
    user, token = alice
    data = b"hello form"
    form = _initiate(server, token, f"{user}/a.txt", len(data), "text/plain")
    fields = dict(form["formData"])

    forged = _post(form, data, fields={**fields, "signature": "0" * 64})
    assert forged.status_code == 403 and "signature" in forged.text
    other = _initiate(server, token, f"{user}/b.txt", 10_000, "text/plain")
    altered = _post(form, data, fields={**fields, "policy": other["formData"]["policy"]})
    assert altered.status_code == 403
    borrowed = _post(form, b"x" * 10_000, fields=other["formData"])  # B's valid policy on A's URL
    assert borrowed.status_code == 403 and "another upload" in borrowed.text
    no_policy = _post(form, data, fields={"Content-Type": "text/plain"})
    assert no_policy.status_code == 403
    retyped = _post(form, data, fields={**fields, "Content-Type": "text/html"})
    assert retyped.status_code == 403 and "Content-Type" in retyped.text
    # None of that stored anything.
    assert _env(server, "/object/complete_form_data", {"id": form["id"]}, token)["errCode"] == 1004
    # The real form still works afterwards.
    assert _post(form, data).status_code == 200
    assert server.call("/object/complete_form_data", {"id": form["id"]}, token=token)["url"].endswith("/a.txt")

    # An admin may ask for a shorter form: one of 1 ms has expired by the time it is posted.
    admin = server.admin_token()
    short = _initiate(server, admin, "shared/short.txt", len(data), "text/plain", millisecond=1)
    time.sleep(0.01)
    expired = _post(short, data)
    assert expired.status_code == 403 and "expired" in expired.text
    # A user's millisecond is ignored: its form lasts the default 10 minutes.
    mine = _initiate(server, token, f"{user}/c.txt", len(data), "text/plain", millisecond=1)
    time.sleep(0.01)
    assert _post(mine, data).status_code == 200


def test_wrong_sizes_and_malformed_bodies(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    form = _initiate(server, token, f"{user}/s.bin", 1000, "application/octet-stream")
    assert _post(form, b"x" * 1001).status_code == 413
    assert _post(form, b"x" * 2 * MIB).status_code == 413
    assert _post(form, b"x" * 999).status_code == 400
    assert _env(server, "/object/complete_form_data", {"id": form["id"]}, token)["errCode"] == 1004
    not_form = httpx.post(form["url"], json=form["formData"], timeout=10)
    assert not_form.status_code == 400
    truncated = httpx.post(
        form["url"], content=b"--B\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\nabc",
        headers={"Content-Type": "multipart/form-data; boundary=B"}, timeout=10,
    )
    assert truncated.status_code == 400
    no_file = httpx.post(form["url"], data=form["formData"], files={"other": ("x", b"x")}, timeout=10)
    assert no_file.status_code == 400
    assert _declared_too_large(server, form["id"]).startswith(b"HTTP/1.1 413")
    unknown = httpx.post(f"{server.api_url}/object/.form/nope", data=form["formData"],
                         files={"file": ("x", b"x" * 1000)}, timeout=10)
    assert unknown.status_code == 403  # the policy names another upload
    # The right size still goes through.
    assert _post(form, b"y" * 1000).status_code == 200
    assert _env(server, "/object/complete_form_data", {"id": form["id"]}, token)["errCode"] == 0


def test_names_sessions_and_limits(server: ServerProcess, alice: tuple[str, str]) -> None:
    user, token = alice
    admin = server.admin_token()

    def initiate(body: dict[str, Any], tok: str = token) -> dict[str, Any]:
        return _env(server, "/object/initiate_form_data", body, tok)

    ok = {"name": f"{user}/ok.txt", "size": 3, "contentType": "text/plain"}
    assert initiate({**ok, "name": "someone_else/x.txt"})["errCode"] == 1002
    assert initiate({**ok, "name": "shared/x.txt"}, admin)["errCode"] == 0
    assert initiate({**ok, "name": ""})["errCode"] == 1001
    assert initiate({**ok, "size": 0})["errCode"] == 1001
    too_big = initiate({**ok, "size": 13 * MIB})
    assert too_big["errCode"] == 1001 and "larger than the limit" in too_big["errDlt"]
    exe = initiate({**ok, "contentType": "application/x-msdownload"})
    assert exe["errCode"] == 1001 and "not accepted" in exe["errDlt"]
    no_token = httpx.post(server.api_url + "/object/initiate_form_data", json=ok, headers={"operationID": "o"},
                          timeout=10)
    assert no_token.json()["errCode"] == 1001

    # Another user may not complete alice's form; an admin may.
    bob = f"form_bob_{time.time_ns()}"
    server.call("/user/user_register", {"users": [{"userID": bob, "nickname": "bob"}]}, token=admin)
    form = server.call("/object/initiate_form_data", ok, token=token)
    assert _post(form, b"abc").status_code == 200
    assert _env(server, "/object/complete_form_data", {"id": form["id"]}, server.user_token(bob))["errCode"] == 1002
    assert _env(server, "/object/complete_form_data", {"id": form["id"]}, admin)["errCode"] == 0

    assert _env(server, "/object/complete_form_data", {"id": ""}, token)["errCode"] == 1001
    assert _env(server, "/object/complete_form_data", {"id": "no-such-form"}, token)["errCode"] == 1701
    # A multipart session is not a form, and a form is not a multipart session.
    part = server.call(
        "/object/initiate_multipart_upload",
        {"hash": "1" * 32, "size": 3, "partSize": 5 * MIB, "name": f"{user}/m.txt", "contentType": "text/plain"},
        token=token,
    )["upload"]
    assert _env(server, "/object/complete_form_data", {"id": part["uploadID"]}, token)["errCode"] == 1001
    form2 = server.call("/object/initiate_form_data", ok, token=token)
    multi = _env(server, "/object/complete_multipart_upload",
                 {"uploadID": form2["id"], "parts": ["1" * 32], "name": ok["name"], "contentType": "text/plain"},
                 token)
    assert multi["errCode"] == 1001
    assert _env(server, "/object/auth_sign", {"uploadID": form2["id"], "partNumbers": [1]}, token)["errCode"] == 1001
