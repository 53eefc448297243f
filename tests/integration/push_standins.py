"""Stand-ins for Google's OAuth token endpoint, the FCM HTTP v1 API and APNs, on one local port in a
thread of their own (Hypercorn: HTTP/1.1 for Google, HTTP/2 with prior knowledge for Apple, as the real
services need), checking what the real ones check: the service account's signed grant, the bearer
token, Apple's provider token (ES256, key id, team) and topic. A token whose name starts with "dead"
is answered as the real service answers an uninstalled app (FCM 404 UNREGISTERED, APNs 410)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import trio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

PROJECT = "demo-project"
CLIENT_EMAIL = "pusher@demo-project.iam.gserviceaccount.com"
ACCESS_TOKEN = "ya29.standin"
APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC = "KEY123", "TEAM456", "com.example.chat"


@dataclass
class Delivery:
    service: str  # "fcm" or "apns"
    token: str
    body: dict[str, Any]


@dataclass
class PushServices:
    """The ASGI app and what it received (read under ``lock``)."""

    fcm_public_pem: bytes
    apns_public_pem: bytes
    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def to(self, service: str) -> list[str]:
        with self.lock:
            return [d.token for d in self.deliveries if d.service == service]

    def wait_for(self, what: Callable[[PushServices], bool], timeout: float = 15.0) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: what(self), timeout):
                raise AssertionError(f"not received in {timeout}s: {self.deliveries} (refused: {self.refused})")

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
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, answer = self._answer(scope, headers, body)
        if status >= 400 and not scope["path"].endswith(("/dead-android", "/dead-iphone")):
            with self.lock:
                self.refused.append(f"{scope['path']}: {status} {answer}")
        data = json.dumps(answer).encode()
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": data})

    def _record(self, delivery: Delivery) -> None:
        with self.lock:
            self.deliveries.append(delivery)
            self.lock.notify_all()

    def _answer(self, scope: dict[str, Any], headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        path = scope["path"]
        if path == "/token":
            form = parse_qs(body.decode())
            try:
                claims = jwt.decode(
                    form["assertion"][0], self.fcm_public_pem, algorithms=["RS256"], audience=f"{self.url}/token"
                )
            except (KeyError, jwt.InvalidTokenError):
                return 400, {"error": "invalid_grant"}
            if claims.get("iss") != CLIENT_EMAIL:
                return 400, {"error": "invalid_grant"}
            return 200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}
        if path == f"/v1/projects/{PROJECT}/messages:send":
            if headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
                return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}
            message = json.loads(body)["message"]
            self._record(Delivery("fcm", message["token"], message))
            if message["token"].startswith("dead"):
                return 404, {"error": {"code": 404, "status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}
            return 200, {"name": f"projects/{PROJECT}/messages/1"}
        if path.startswith("/3/device/"):
            if scope["http_version"] != "2":
                return 505, {"reason": "HTTP/2 required"}
            token = headers.get("authorization", "").removeprefix("bearer ")
            try:
                header = jwt.get_unverified_header(token)
                claims = jwt.decode(token, self.apns_public_pem, algorithms=["ES256"])
            except jwt.InvalidTokenError:
                return 403, {"reason": "InvalidProviderToken"}
            if header.get("kid") != APNS_KEY_ID or claims.get("iss") != APNS_TEAM_ID:
                return 403, {"reason": "InvalidProviderToken"}
            if headers.get("apns-topic") != APNS_TOPIC:
                return 400, {"reason": "DeviceTokenNotForTopic"}
            device = path.removeprefix("/3/device/")
            self._record(Delivery("apns", device, json.loads(body)))
            if device.startswith("dead"):
                return 410, {"reason": "Unregistered"}
            return 200, {}
        return 404, {"error": f"no such path {path}"}


@dataclass(frozen=True)
class PushCredentials:
    fcm_credentials_file: Path
    apns_key_file: Path


def write_credentials(
    folder: Path, services: PushServices, fcm_private_pem: str, apns_private_pem: bytes
) -> PushCredentials:
    sa = folder / "fcm-service-account.json"
    sa.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "k1",
                "private_key": fcm_private_pem,
                "client_email": CLIENT_EMAIL,
                "token_uri": f"{services.url}/token",
            }
        )
    )
    p8 = folder / f"AuthKey_{APNS_KEY_ID}.p8"
    p8.write_bytes(apns_private_pem)
    return PushCredentials(sa, p8)


@contextmanager
def running_push_services(folder: Path) -> Iterator[tuple[PushServices, PushCredentials]]:
    """The stand-ins listening on 127.0.0.1 (a free port), and the credential files that match them."""
    google_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    apple_key = ec.generate_private_key(ec.SECP256R1())
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    services = PushServices(
        google_key.public_key().public_bytes(serialization.Encoding.PEM, public),
        apple_key.public_key().public_bytes(serialization.Encoding.PEM, public),
    )
    pkcs8 = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    started = threading.Event()
    stop: list[Callable[[], None]] = []

    async def main() -> None:
        config = HypercornConfig()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        config.errorlog = None
        stopped = trio.Event()
        token = trio.lowlevel.current_trio_token()
        stop.append(lambda: trio.from_thread.run_sync(stopped.set, trio_token=token))
        async with trio.open_nursery() as nursery:
            binds: list[str] = await nursery.start(partial(serve, services, config, shutdown_trigger=stopped.wait))  # type: ignore[arg-type]
            services.url = binds[0]
            started.set()

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    if not started.wait(15):
        raise RuntimeError("the push stand-ins did not start")
    try:
        yield (
            services,
            write_credentials(
                folder, services, google_key.private_bytes(*pkcs8).decode(), apple_key.private_bytes(*pkcs8)
            ),
        )
    finally:
        stop[0]()
        thread.join(10)
