"""Apple Push Notification service over HTTP/2 with token authentication: an ES256 JWT signed with the
team's .p8 key (``kid`` = key id, ``iss`` = team id), renewed every 50 minutes (Apple refuses tokens
older than an hour and throttles renewals more often than every 20 minutes), one POST per device to
``/3/device/<token>`` with the app's bundle id as ``apns-topic``.

Needs HTTP/2 (httpx with the ``h2`` package): Apple does not speak HTTP/1.1 on this API.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import trio

from openim.offline_push.provider import Notification, ProviderMisconfigured, PushResult, send_each

PRODUCTION = "https://api.push.apple.com"
SANDBOX = "https://api.sandbox.push.apple.com"
TOKEN_REFRESH_S = 50 * 60
DEAD_REASONS = frozenset({"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"})


def load_key(path: str) -> str:
    """The .p8 signing key as PEM text, checked to be an EC private key."""
    try:
        pem = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProviderMisconfigured(f"apns_key_file {path}: cannot read: {exc.strerror or exc}") from exc
    try:
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(pem.encode(), password=None)
    except ImportError as exc:
        raise ProviderMisconfigured("apns needs the 'cryptography' package to sign its tokens") from exc
    except ValueError as exc:
        raise ProviderMisconfigured(f"apns_key_file {path}: not a PEM private key (the .p8 file from Apple)") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ProviderMisconfigured(f"apns_key_file {path}: not an EC (ES256) key")
    return pem


class ApnsProvider:
    name = "apns"

    def __init__(
        self,
        *,
        key_pem: str,
        key_id: str,
        team_id: str,
        topic: str,
        endpoint: str = PRODUCTION,
        concurrency: int = 16,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key, self._key_id, self._team_id, self._topic = key_pem, key_id, team_id, topic
        self._endpoint = endpoint.rstrip("/")
        # http1=False: HTTP/2 only (prior knowledge on http://, ALPN h2 on https://).
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout, http1=False, http2=True)
        self._limit = trio.CapacityLimiter(concurrency)
        self._clock = clock
        self._jwt = ""
        self._jwt_at = 0.0

    def _bearer(self) -> str:
        import jwt

        now = self._clock()
        if not self._jwt or now - self._jwt_at > TOKEN_REFRESH_S:
            self._jwt = jwt.encode(
                {"iss": self._team_id, "iat": int(now)}, self._key, algorithm="ES256", headers={"kid": self._key_id}
            )
            self._jwt_at = now
        return self._jwt

    async def check(self) -> None:
        """Signing works (the key was parsed at load); APNs has no call that checks a key without a device
        token, so the first push reports a refused key (InvalidProviderToken) in the log."""
        self._bearer()

    @staticmethod
    def payload(n: Notification) -> dict[str, Any]:
        return {
            "aps": {"alert": {"title": n.title, "body": n.body}, "badge": n.badge, "sound": "default"},
            **dict(n.data),
        }

    async def _send_one(self, n: Notification, result: PushResult) -> None:
        headers = {
            "authorization": f"bearer {self._bearer()}",
            "apns-topic": self._topic,
            "apns-push-type": "alert",
            "apns-priority": "10",
        }
        async with self._limit:
            try:
                resp = await self._client.post(
                    f"{self._endpoint}/3/device/{n.token}", json=self.payload(n), headers=headers
                )
            except httpx.HTTPError:
                result.failed += 1
                return
        if resp.status_code == 200:
            result.sent += 1
            return
        reason = ""
        with contextlib.suppress(ValueError):
            reason = str(resp.json().get("reason", ""))
        if resp.status_code == 410 or reason in DEAD_REASONS:
            result.dead_tokens.append(n.token)
        else:
            if reason in ("ExpiredProviderToken", "InvalidProviderToken"):
                self._jwt = ""
            result.failed += 1

    async def send(self, batch: Sequence[Notification]) -> PushResult:
        return await send_each(batch, self._send_one)

    async def aclose(self) -> None:
        await self._client.aclose()
