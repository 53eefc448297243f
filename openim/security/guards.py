"""The limits of one process, built from the config, each refusal counted in /metrics.

Call sites use one line each: ``guards.check_send(user_id, is_admin)``, ``guards.check_login(...)``,
``guards.check_admin_secret(ip, ok)``; a refusal is an :class:`OpenIMError` the edge turns into the
envelope like any other. Connection limits are counted by the listeners themselves (connlimit).

Codes: OpenIM has no rate-limit code, so refusals use the nearest ones an SDK already handles:
1601 ConnOverMaxNumLimit for connections and WebSocket logins (the SDK retries later), 1002
NoPermissionError with an errDlt starting "rate limited" for sends, token requests and admin secrets.
"""

from __future__ import annotations

import math
from typing import Final

from openim.config import Config
from openim.ops.metrics import Metrics
from openim.security.ratelimit import FailureBackoff, TokenBuckets
from openim.wire.errors import ErrCode, OpenIMError

# The ``limit`` label values of openim_limit_refusals_total.
SEND: Final = "send_rate"
LOGIN_USER: Final = "login_user"
LOGIN_IP: Final = "login_ip"
ADMIN_SECRET: Final = "admin_secret"
CONN_TOTAL: Final = "connections"
CONN_IP: Final = "connections_per_ip"
HANDSHAKES: Final = "handshakes"
HANDSHAKES_IP: Final = "handshakes_per_ip"
BODY_TIMEOUT: Final = "body_timeout"
LIMITS: Final = (SEND, LOGIN_USER, LOGIN_IP, ADMIN_SECRET, CONN_TOTAL, CONN_IP, HANDSHAKES, HANDSHAKES_IP, BODY_TIMEOUT)


def _retry(seconds: float) -> str:
    return f"retry in {max(1, math.ceil(seconds))}s"


class Guards:
    def __init__(self, config: Config, metrics: Metrics) -> None:
        sec = config.security
        keys = sec.max_tracked_keys
        self.send = TokenBuckets(sec.send_rate, sec.send_burst, max_keys=keys)
        self.login_user = TokenBuckets(sec.login_rate_user, sec.login_burst_user, max_keys=keys)
        self.login_ip = TokenBuckets(sec.login_rate_ip, sec.login_burst_ip, max_keys=keys)
        self.exempt_ips = frozenset(sec.exempt_ips)
        self.admin_secret = FailureBackoff(
            sec.admin_secret_attempts, float(sec.admin_secret_backoff), float(sec.admin_secret_backoff_max),
            max_keys=keys,
        )
        self._refusals = {name: metrics.limit_refusals.labels(limit=name) for name in LIMITS}

    def refused(self, limit: str) -> None:
        """Count one refusal of ``limit`` (one of LIMITS)."""
        self._refusals[limit].inc()

    def check_send(self, user_id: str, is_admin: bool) -> None:
        """Spend one of the user's send tokens (1002 when none is left); app admins are not limited."""
        if is_admin:
            return
        wait = self.send.take(user_id)
        if wait:
            self._refusals[SEND].inc()
            raise OpenIMError(ErrCode.NO_PERMISSION, f"rate limited: too many messages from {user_id}; {_retry(wait)}")

    def check_login(self, user_id: str = "", ip: str = "", code: ErrCode = ErrCode.NO_PERMISSION) -> None:
        """One login of ``user_id`` and/or from ``ip`` (either may be empty): ``code`` past either rate."""
        if ip and ip not in self.exempt_ips:
            wait = self.login_ip.take(ip)
            if wait:
                self._refusals[LOGIN_IP].inc()
                raise OpenIMError(code, f"rate limited: too many logins from {ip}; {_retry(wait)}")
        wait = self.login_user.take(user_id) if user_id else 0.0
        if wait:
            self._refusals[LOGIN_USER].inc()
            raise OpenIMError(code, f"rate limited: too many logins of {user_id}; {_retry(wait)}")

    def check_admin_secret(self, ip: str, ok: bool) -> None:
        """Judge one admin-secret attempt from ``ip`` whose comparison gave ``ok``: 1002 when the address
        is blocked (even with the right secret, so blocking leaks nothing) or the secret is wrong.
        Synchronous on purpose: parallel attempts are counted one by one."""
        wait = self.admin_secret.blocked(ip)
        if wait:
            self._refusals[ADMIN_SECRET].inc()
            raise OpenIMError(
                ErrCode.NO_PERMISSION, f"rate limited: too many wrong secrets from {ip}; {_retry(wait)}"
            )
        if ok:
            self.admin_secret.succeeded(ip)
            return
        self.admin_secret.failed(ip)
        raise OpenIMError(ErrCode.NO_PERMISSION, "secret invalid")
