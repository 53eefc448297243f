"""APNs against a local HTTP/2 server (Hypercorn, cleartext with prior knowledge) that checks what
Apple checks: HTTP/2, POST /3/device/<token>, the topic and push-type headers, and a provider token
(ES256 JWT, kid = key id, iss = team id) verified with the key's public half."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cryptography", reason="APNs provider tokens are ES256 (needs cryptography)")

import jwt
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from openim.offline_push.apns import ApnsProvider, load_key
from openim.offline_push.provider import Notification, ProviderMisconfigured

TOPIC = "com.example.chat"


class FakeApple:
    def __init__(self, public_pem: bytes) -> None:
        self.public_pem = public_pem
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status, answer = self.check(scope, headers, body)
        data = json.dumps(answer).encode() if answer else b""
        await send({"type": "http.response.start", "status": status, "headers": [(b"apns-id", b"1")]})
        await send({"type": "http.response.body", "body": data})

    def check(self, scope: dict[str, Any], headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        if scope["http_version"] != "2":
            return 505, {"reason": "HTTP/2 required"}
        token = headers.get("authorization", "").removeprefix("bearer ")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self.public_pem, algorithms=["ES256"])
        except jwt.InvalidTokenError:
            return 403, {"reason": "InvalidProviderToken"}
        if header.get("kid") != "KEY123" or claims.get("iss") != "TEAM456":
            return 403, {"reason": "InvalidProviderToken"}
        if headers.get("apns-topic") != TOPIC or headers.get("apns-push-type") != "alert":
            return 400, {"reason": "MissingTopic"}
        device = scope["path"].removeprefix("/3/device/")
        self.requests.append({"device": device, "payload": json.loads(body), "method": scope["method"]})
        if device == "gone":
            return 410, {"reason": "Unregistered"}
        return 200, {}


def _key_pair(tmp_path: Path) -> tuple[Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    p8 = tmp_path / "AuthKey_KEY123.p8"
    p8.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return p8, public


async def _serve_h2(app: FakeApple, nursery: trio.Nursery) -> str:
    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    binds: list[str] = await nursery.start(serve, app, config)  # type: ignore[arg-type]
    return binds[0]


@pytest.fixture
async def apple(tmp_path: Path) -> AsyncIterator[tuple[FakeApple, str, Path]]:
    p8, public = _key_pair(tmp_path)
    fake = FakeApple(public)
    async with trio.open_nursery() as nursery:
        url = await _serve_h2(fake, nursery)
        yield fake, url, p8
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_pushes_over_http2_with_a_provider_token(apple: tuple[FakeApple, str, Path]) -> None:
    fake, url, p8 = apple
    provider = ApnsProvider(key_pem=load_key(str(p8)), key_id="KEY123", team_id="TEAM456", topic=TOPIC, endpoint=url)
    await provider.check()
    batch = [
        Notification("u1", 1, "device-a", "Alice", "hi there", 2, {"conversationID": "si_a_b"}),
        Notification("u2", 1, "gone", "Alice", "hi", 1),
    ]
    result = await provider.send(batch)
    await provider.aclose()
    assert (result.sent, result.failed, result.dead_tokens) == (1, 0, ["gone"])
    sent = next(r for r in fake.requests if r["device"] == "device-a")
    assert sent["method"] == "POST"
    assert sent["payload"] == {
        "aps": {"alert": {"title": "Alice", "body": "hi there"}, "badge": 2, "sound": "default"},
        "conversationID": "si_a_b",
    }


@pytest.mark.trio
async def test_a_wrong_key_is_refused_and_counted_as_failed(apple: tuple[FakeApple, str, Path], tmp_path: Path) -> None:
    _, url, _ = apple
    (tmp_path / "other").mkdir()
    other, _ = _key_pair(tmp_path / "other")
    provider = ApnsProvider(key_pem=load_key(str(other)), key_id="KEY123", team_id="TEAM456", topic=TOPIC, endpoint=url)
    result = await provider.send([Notification("u1", 1, "device-a", "t", "b")])
    await provider.aclose()
    assert (result.sent, result.failed) == (0, 1)


def test_key_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ProviderMisconfigured, match="cannot read"):
        load_key(str(tmp_path / "missing.p8"))
    bad = tmp_path / "bad.p8"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ProviderMisconfigured, match="not a PEM private key"):
        load_key(str(bad))
