"""Tokens as OpenIM has them: an HS256 JWT plus a server-side status per token.

A token is valid when its signature and times check out AND the store knows it in state NORMAL (absent:
1507 TokenNotExist; kicked: 1506). Issuing a token applies the multi-login policy to the user's older
tokens; the gateway applies it to live connections.

Logins of one user are serialised (a bus lease ``login:<userID>``, so across processes too) and each
token carries its issue time in milliseconds (claim ``iat_ms``, strictly increasing per process; the
store row's create_time is the same value). "Newest wins" compares that time everywhere: a kick only
ever retires tokens and sessions issued *before* the login that causes it, so two concurrent logins
cannot retire each other and the survivor is always the newest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import jwt
import trio

from openim.bus.port import Bus
from openim.clock import now_ms
from openim.config import AuthConfig
from openim.ops.logging import get_log
from openim.storage.messages.records import TokenRecord, TokenState, TokenStateChange
from openim.storage.port import Store
from openim.wire.constants import Platform, PlatformClass, is_valid_platform, platform_class
from openim.wire.errors import ErrCode, OpenIMError

log = get_log("tokens")

# OpenIM's default secret ("openIM123") is shorter than RFC 7518 recommends; operators are told to change
# it (cluster mode refuses it), so PyJWT's per-call warning would only flood the logs.
warnings.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)

ADMIN_TOKEN_GRACE_MS = 5 * 60 * 1000  # older admin tokens keep working this long after a new one
IAT_SKEW_S = 5  # OpenIM back-dates iat so slightly fast clocks elsewhere accept fresh tokens
TOKEN_CACHE_TTL_S = 300.0
LOGIN_LEASE_TTL_S = 10.0  # a login holds its user's lease at most this long (a crashed holder's expires)
LOGIN_WAIT_S = 10.0  # a login waits at most this long for the concurrent ones before it
LOGIN_POLL_S = 0.005
# The header PyJWT writes for HS256 (and OpenIM's Go server too), base64url: {"alg":"HS256","typ":"JWT"}.
_PLAIN_JWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
_PLAIN_CLAIMS = frozenset({"UserID", "PlatformID", "exp", "iat", "jti", "iat_ms"})
_USER_PLATFORMS = tuple(int(p) for p in Platform if p != Platform.ADMIN)


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    platform_id: int
    expire_at: int  # Unix seconds
    token: str
    issued_ms: int = 0  # the iat_ms claim; 0 for tokens issued before it existed (the oldest of all)


@dataclass(slots=True)
class _KickBatch:
    """Kicks written together (TokenService.kick); ``results`` in the order of ``changes``."""

    changes: list[TokenStateChange] = field(default_factory=list)
    results: list[list[str]] | None = None
    error: Exception | None = None


class TokenService:
    def __init__(self, secret: str, auth: AuthConfig, store: Store, bus: Bus) -> None:
        self._key = secret.encode()
        self._auth = auth
        self._store = store
        self._bus = bus
        self.admin_user_ids = frozenset(auth.admin_user_ids)
        self._last_issued_ms = 0
        self._kick_batch = _KickBatch()
        self._kick_lock = trio.Lock()

    @property
    def expire_seconds(self) -> int:
        return int(self._auth.token_expire)

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admin_user_ids

    # -- issuing ------------------------------------------------------------------------------------
    async def issue(self, user_id: str, platform_id: int) -> str:
        """A fresh token for (user, platform); older tokens are retired per the multi-login policy."""
        if not is_valid_platform(platform_id):
            raise OpenIMError(ErrCode.ARGS, f"platformID {platform_id} is invalid")
        # An operator's ban (web console "block") stops every way in: no token, so no login anywhere.
        if await self._store.get_bans([user_id]):
            raise OpenIMError(ErrCode.NO_PERMISSION, f"user {user_id} is blocked by an operator")
        async with self._login_lock(user_id):
            # Strictly increasing, so the order of issue is the order of iat_ms even within one ms.
            created = self._last_issued_ms = max(now_ms(), self._last_issued_ms + 1)
            now = created // 1000
            claims = {
                "UserID": user_id,
                "PlatformID": platform_id,
                "exp": now + self.expire_seconds,
                "iat": now - IAT_SKEW_S,
                # Not in OpenIM's claims: without them two logins in the same second get the SAME token,
                # and the multi-login policy could not tell the new session from the old one, nor which
                # is newer. Clients never read the claims, so extra ones are invisible to them.
                "jti": secrets.token_hex(8),
                "iat_ms": created,
            }
            token = jwt.encode(claims, self._key, algorithm="HS256")
            await self._retire_older(user_id, platform_id, created)
            await self._store.save_token(
                TokenRecord(
                    user_id, platform_id, token, TokenState.NORMAL, (now + self.expire_seconds) * 1000, created
                )
            )
            await self._bus.token_state_drop(user_id, platform_id)
            # The first login with it then finds its state cached: no store read (a thread hop) per login.
            await self._bus.token_state_set(user_id, platform_id, {token: int(TokenState.NORMAL)}, TOKEN_CACHE_TTL_S)
            return token

    @asynccontextmanager
    async def _login_lock(self, user_id: str) -> AsyncIterator[None]:
        """Hold the user's login lease: concurrent logins of one user (any process) run one at a time."""
        name, owner = f"login:{user_id}", secrets.token_hex(8)
        with trio.move_on_after(LOGIN_WAIT_S) as waited:
            while not await self._bus.lease_acquire(name, owner, LOGIN_LEASE_TTL_S):
                await trio.sleep(LOGIN_POLL_S)
        if waited.cancelled_caught:
            raise OpenIMError(ErrCode.SERVER_INTERNAL, f"another login of {user_id} is still running; retry")
        try:
            yield
        finally:
            with trio.CancelScope(shield=True):
                try:
                    await self._bus.lease_release(name, owner)
                except Exception as exc:  # the lease expires by itself
                    log.warning("login.lease_release_failed", user_id=user_id, error=f"{type(exc).__name__}: {exc}")

    async def _retire_older(self, user_id: str, platform_id: int, now: int) -> None:
        if platform_id == Platform.ADMIN:
            # A new admin token retires the older ones after a grace period instead of at once.
            for rec in await self._store.list_tokens(user_id, platform_id):
                if rec.state == TokenState.NORMAL and rec.expire_time > now + ADMIN_TOKEN_GRACE_MS:
                    await self._store.save_token(
                        TokenRecord(rec.user_id, rec.platform_id, rec.token, rec.state,
                                    now + ADMIN_TOKEN_GRACE_MS, rec.create_time)
                    )
            return
        kicked = self.platforms_to_kick(user_id, platform_id)
        if kicked:
            await self.kick(user_id, kicked, issued_before_ms=now)
        if self._auth.multi_login_policy == 0:
            keep = self._auth.max_tokens_per_platform - 1
            normal = [
                t for t in await self._store.list_tokens(user_id, platform_id) if t.state == TokenState.NORMAL
            ]
            normal.sort(key=lambda t: t.create_time)
            excess = normal[: max(0, len(normal) - keep)]
            if excess:
                await self._store.delete_tokens(user_id, [t.token for t in excess])
                await self._bus.token_state_drop(user_id, platform_id)

    def platforms_to_kick(self, user_id: str, platform_id: int) -> list[int]:
        """Platforms whose other sessions a new login on ``platform_id`` ends, per the policy."""
        policy = self._auth.multi_login_policy
        if policy == 0 or platform_id == Platform.ADMIN:
            return []
        if policy == 1:
            return [platform_id]
        if policy == 4:
            cls = platform_class(platform_id)
            return [p for p in _USER_PLATFORMS if platform_class(p) == cls]
        # policy 5: PC platforms are unlimited; among the others only the newest survives.
        if platform_class(platform_id) == PlatformClass.PC:
            return []
        return [p for p in _USER_PLATFORMS if platform_class(p) != PlatformClass.PC]

    # -- checking -----------------------------------------------------------------------------------
    def decode(self, token: str) -> Claims:
        """Check signature and times only (1501 expired, 1503 malformed, 1504 not yet valid, 1505 other)."""
        fast = self._decode_plain(token)
        if fast is not None:
            return fast
        try:
            claims = jwt.decode(
                token, self._key, algorithms=["HS256"], options={"require": ["exp"], "verify_iat": False}
            )
        except jwt.ExpiredSignatureError as exc:
            raise OpenIMError(ErrCode.TOKEN_EXPIRED, "token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise OpenIMError(ErrCode.TOKEN_NOT_VALID_YET, "token not valid yet") from exc
        except jwt.InvalidSignatureError as exc:
            raise OpenIMError(ErrCode.TOKEN_UNKNOWN, "signature invalid") from exc
        except jwt.DecodeError as exc:
            raise OpenIMError(ErrCode.TOKEN_MALFORMED, "token malformed") from exc
        except jwt.InvalidTokenError as exc:
            raise OpenIMError(ErrCode.TOKEN_UNKNOWN, str(exc)) from exc
        user_id, platform_id = claims.get("UserID"), claims.get("PlatformID")
        if not isinstance(user_id, str) or not isinstance(platform_id, int) or isinstance(platform_id, bool):
            raise OpenIMError(ErrCode.TOKEN_UNKNOWN, "claims UserID/PlatformID missing")
        issued = claims.get("iat_ms", 0)
        issued_ms = issued if isinstance(issued, int) and not isinstance(issued, bool) else 0
        return Claims(user_id, platform_id, int(claims["exp"]), token, issued_ms)

    def _decode_plain(self, token: str) -> Claims | None:
        """The claims of a valid token of the shape this server (and OpenIM) issues, checked without
        PyJWT (~30 µs per login with it, a few without); None for anything else — a wrong signature,
        another header, an unknown claim, an expired token — which PyJWT then judges and words as ever.
        So this path only ever accepts what PyJWT accepts."""
        header, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        if header != _PLAIN_JWT_HEADER or not signature:
            return None
        expected = base64.urlsafe_b64encode(
            hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        ).rstrip(b"=")
        if not hmac.compare_digest(expected, signature.encode()):
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(claims, dict) or not claims.keys() <= _PLAIN_CLAIMS:
            return None
        user_id, platform_id, exp = claims.get("UserID"), claims.get("PlatformID"), claims.get("exp")
        issued, jti = claims.get("iat_ms", 0), claims.get("jti", "")
        if (
            not isinstance(user_id, str)
            or type(platform_id) is not int
            or type(exp) is not int
            or exp <= time.time()
            or type(issued) is not int
            or not isinstance(jti, str)
            or not isinstance(claims.get("iat", 0), (int, float))
        ):
            return None
        return Claims(user_id, platform_id, exp, token, issued)

    async def verify(self, token: str) -> Claims:
        """Full check: JWT, then the server-side status (1506 kicked, 1507 unknown to the server)."""
        if not token:
            raise OpenIMError(ErrCode.ARGS, "token is empty")
        claims = self.decode(token)
        state = await self._bus.token_state_get(claims.user_id, claims.platform_id, token)
        if state is None:
            rec = await self._store.get_token(claims.user_id, claims.platform_id, token)
            if rec is None:
                raise OpenIMError(ErrCode.TOKEN_NOT_EXIST, "token not exist")
            state = int(rec.state)
            if rec.expire_time < now_ms():
                state = int(TokenState.EXPIRED)
            elif state == TokenState.NORMAL:
                await self._bus.token_state_set(
                    claims.user_id, claims.platform_id, {token: state}, TOKEN_CACHE_TTL_S
                )
        if state == TokenState.NORMAL:
            return claims
        if state == TokenState.KICKED:
            raise OpenIMError(ErrCode.TOKEN_KICKED, "token kicked")
        if state == TokenState.EXPIRED:
            raise OpenIMError(ErrCode.TOKEN_EXPIRED, "token expired")
        raise OpenIMError(ErrCode.TOKEN_UNKNOWN, f"token state {state}")

    # -- kicking ------------------------------------------------------------------------------------
    def issued_ms(self, token: str) -> int:
        """The issue time (ms) of a token this service issued (0 when it has none)."""
        return self.decode(token).issued_ms

    async def kick(
        self, user_id: str, platform_ids: Sequence[int], *, except_token: str = "", issued_before_ms: int | None = None
    ) -> list[str]:
        """Mark the user's tokens on those platforms kicked (all but ``except_token``; with
        ``issued_before_ms`` only those issued before it, so a late kick never retires a newer login).

        Every login under a kicking policy calls this, so concurrent calls share one store transaction:
        each joins the open batch, and whichever of its members gets the lock first writes the whole
        batch while the next one fills (one write per batch, not per login)."""
        if not platform_ids:
            return []
        batch = self._kick_batch
        index = len(batch.changes)
        batch.changes.append(
            TokenStateChange(user_id, tuple(platform_ids), TokenState.KICKED, except_token, issued_before_ms)
        )
        async with self._kick_lock:
            if batch.results is None and batch.error is None:
                if self._kick_batch is batch:
                    self._kick_batch = _KickBatch()
                try:
                    batch.results = await self._store.set_token_states_many(batch.changes)
                    for key in dict.fromkeys((c.user_id, p) for c in batch.changes for p in c.platform_ids):
                        await self._bus.token_state_drop(*key)
                except Exception as exc:
                    batch.error = exc
        if batch.error is not None:
            raise batch.error  # the same failure for every member of the batch (each logs or answers it)
        assert batch.results is not None
        changed = batch.results[index]
        if changed:
            log.info("tokens.kicked", user_id=user_id, platforms=list(platform_ids), count=len(changed))
        return changed
