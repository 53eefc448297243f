"""FCM HTTP v1 against a local HTTP server playing both Google's OAuth token endpoint and the FCM API:
the server checks the JWT-bearer grant (signature with the service account's public key, claims) and
the bearer token and body of every send, as the real ones do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

pytest.importorskip("cryptography", reason="FCM signs its OAuth assertion with RS256 (needs cryptography)")

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from openim.offline_push.fcm import FcmProvider, load_credentials
from openim.offline_push.provider import Notification, ProviderMisconfigured

PROJECT = "demo-project"


class FakeGoogle:
    def __init__(self, public_pem: bytes) -> None:
        self.public_pem = public_pem
        self.sends: list[dict[str, Any]] = []
        self.token_requests = 0
        self.url = ""

    def handle(self, h: BaseHTTPRequestHandler) -> tuple[int, dict[str, Any]]:
        body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        if h.path == "/token":
            form = parse_qs(body.decode())
            assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
            try:
                claims = jwt.decode(
                    form["assertion"][0], self.public_pem, algorithms=["RS256"], audience=f"{self.url}/token"
                )
            except jwt.InvalidTokenError:
                return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            assert claims["iss"] == "pusher@demo-project.iam.gserviceaccount.com"
            assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
            assert claims["exp"] - claims["iat"] == 3600
            self.token_requests += 1
            return 200, {"access_token": "ya29.test-token", "expires_in": 3599, "token_type": "Bearer"}
        assert h.path == f"/v1/projects/{PROJECT}/messages:send", h.path
        if h.headers.get("Authorization") != "Bearer ya29.test-token":
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}
        message = json.loads(body)["message"]
        self.sends.append(message)
        if message["token"] == "dead-token":
            return 404, {"error": {"code": 404, "status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}
        return 200, {"name": f"projects/{PROJECT}/messages/1"}


@pytest.fixture
def google(tmp_path: Path) -> Iterator[tuple[FakeGoogle, Path]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fake = FakeGoogle(public_pem)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status, answer = fake.handle(self)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    creds = tmp_path / "service-account.json"
    creds.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "k1",
                "private_key": private_pem,
                "client_email": "pusher@demo-project.iam.gserviceaccount.com",
                "token_uri": f"{fake.url}/token",
            }
        )
    )
    yield fake, creds
    server.shutdown()
    server.server_close()


def note(token: str) -> Notification:
    return Notification("u1", 2, token, "Alice", "hello", 3, {"conversationID": "si_a_b", "clientMsgID": "c1"})


@pytest.mark.trio
async def test_sends_v1_messages_with_an_oauth_token_from_the_service_account(
    google: tuple[FakeGoogle, Path],
) -> None:
    fake, creds = google
    provider = FcmProvider(load_credentials(str(creds)), endpoint=fake.url)
    await provider.check()
    result = await provider.send([note("tok-a"), note("tok-b"), note("dead-token")])
    await provider.aclose()
    assert (result.sent, result.failed, result.dead_tokens) == (2, 0, ["dead-token"])
    assert fake.token_requests == 1, "the access token is reused"
    sent = next(m for m in fake.sends if m["token"] == "tok-a")
    assert sent["notification"] == {"title": "Alice", "body": "hello"}
    assert sent["data"] == {"conversationID": "si_a_b", "clientMsgID": "c1"}
    assert sent["apns"]["payload"]["aps"]["badge"] == 3


@pytest.mark.trio
async def test_a_refused_service_account_is_reported_at_check(google: tuple[FakeGoogle, Path]) -> None:
    fake, creds = google
    data = json.loads(creds.read_text())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    provider = FcmProvider(data, endpoint=fake.url)
    with pytest.raises(ProviderMisconfigured, match=r"refused .* HTTP 400 .*invalid_grant"):
        await provider.check()
    await provider.aclose()


def test_credentials_file_problems_are_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(ProviderMisconfigured, match="cannot read"):
        load_credentials(str(tmp_path / "missing.json"))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(ProviderMisconfigured, match="not a service-account key"):
        load_credentials(str(wrong))
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"type": "service_account", "project_id": "p"}))
    with pytest.raises(ProviderMisconfigured, match="missing private_key, client_email, token_uri"):
        load_credentials(str(partial))
    bad_key = tmp_path / "bad.json"
    bad_key.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key": "nope",
                "client_email": "e",
                "token_uri": "http://x",
            }
        )
    )
    with pytest.raises(ProviderMisconfigured, match="not a valid PEM key"):
        load_credentials(str(bad_key))
