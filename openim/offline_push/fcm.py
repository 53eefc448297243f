"""Firebase Cloud Messaging, HTTP v1 API: one POST per device token to
``/v1/projects/<project>/messages:send``, authorised by an OAuth2 access token that a service account
obtains with a signed JWT (the "JWT bearer" grant) and that is reused until shortly before it expires.

Misconfiguration is the classic way FCM fails silently (a wrong key, a project id that does not match,
an expired service account): the credentials file is checked when the process starts, and
:meth:`FcmProvider.check` fetches a first access token then, so a wrong setup is one clear line at start.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import trio

from openim.offline_push.provider import Notification, ProviderMisconfigured, PushResult, send_each

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME_S = 3600
# Error statuses of the v1 API that mean the token will never work again.
DEAD_TOKEN_ERRORS = frozenset({"UNREGISTERED", "NOT_FOUND"})
REQUIRED_FIELDS = ("project_id", "private_key", "client_email", "token_uri")


def load_credentials(path: str) -> dict[str, str]:
    """Read and check a service-account JSON file; every problem is one sentence naming the file."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProviderMisconfigured(f"fcm_credentials_file {path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProviderMisconfigured(f"fcm_credentials_file {path}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise ProviderMisconfigured(
            f'fcm_credentials_file {path}: not a service-account key (expected "type": "service_account"; '
            "download one under Firebase console > Project settings > Service accounts)"
        )
    missing = [k for k in REQUIRED_FIELDS if not data.get(k)]
    if missing:
        raise ProviderMisconfigured(f"fcm_credentials_file {path}: missing {', '.join(missing)}")
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        load_pem_private_key(str(data["private_key"]).encode(), password=None)
    except ImportError as exc:
        raise ProviderMisconfigured("fcm needs the 'cryptography' package to sign its tokens") from exc
    except ValueError as exc:
        raise ProviderMisconfigured(f"fcm_credentials_file {path}: private_key is not a valid PEM key") from exc
    return {k: str(v) for k, v in data.items() if isinstance(v, str)}


class FcmProvider:
    name = "fcm"

    def __init__(
        self,
        credentials: dict[str, str],
        *,
        endpoint: str = "https://fcm.googleapis.com",
        concurrency: int = 16,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._creds = credentials
        self._url = f"{endpoint.rstrip('/')}/v1/projects/{credentials['project_id']}/messages:send"
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._limit = trio.CapacityLimiter(concurrency)
        self._clock = clock
        self._token = ""
        self._token_expires = 0.0
        self._token_lock = trio.Lock()

    def _assertion(self) -> str:
        import jwt

        now = int(self._clock())
        claims = {
            "iss": self._creds["client_email"],
            "scope": SCOPE,
            "aud": self._creds["token_uri"],
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
        }
        headers = {"kid": self._creds["private_key_id"]} if self._creds.get("private_key_id") else None
        return jwt.encode(claims, self._creds["private_key"], algorithm="RS256", headers=headers)

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token and self._clock() < self._token_expires - 60:
                return self._token
            try:
                resp = await self._client.post(
                    self._creds["token_uri"], data={"grant_type": GRANT_TYPE, "assertion": self._assertion()}
                )
            except httpx.HTTPError as exc:
                raise ProviderMisconfigured(
                    f"fcm: token endpoint {self._creds['token_uri']} unreachable: {exc}"
                ) from exc
            if resp.status_code != 200:
                raise ProviderMisconfigured(
                    f"fcm: the service account was refused by {self._creds['token_uri']}: HTTP {resp.status_code} "
                    f"{resp.text[:200]}"
                )
            body: dict[str, Any] = resp.json()
            self._token = str(body["access_token"])
            self._token_expires = self._clock() + float(body.get("expires_in", TOKEN_LIFETIME_S))
            return self._token

    async def check(self) -> None:
        await self._access_token()

    @staticmethod
    def message(n: Notification) -> dict[str, Any]:
        """The v1 message for one device: a visible notification plus the data the app routes with."""
        return {
            "message": {
                "token": n.token,
                "notification": {"title": n.title, "body": n.body},
                "data": dict(n.data),
                "android": {"priority": "high"},
                "apns": {"payload": {"aps": {"badge": n.badge, "sound": "default"}}},
            }
        }

    async def _send_one(self, n: Notification, result: PushResult) -> None:
        async with self._limit:
            try:
                token = await self._access_token()
                resp = await self._client.post(
                    self._url, json=self.message(n), headers={"Authorization": f"Bearer {token}"}
                )
            except (httpx.HTTPError, ProviderMisconfigured):
                result.failed += 1
                return
        if resp.status_code == 200:
            result.sent += 1
            return
        if resp.status_code == 401:
            self._token = ""  # revoked or expired early: fetch a new one next time
        status = ""
        with contextlib.suppress(ValueError):
            status = str(resp.json().get("error", {}).get("status", ""))
        if status in DEAD_TOKEN_ERRORS or (resp.status_code == 400 and "registration token" in resp.text.lower()):
            result.dead_tokens.append(n.token)
        else:
            result.failed += 1

    async def send(self, batch: Sequence[Notification]) -> PushResult:
        return await send_each(batch, self._send_one)

    async def aclose(self) -> None:
        await self._client.aclose()
