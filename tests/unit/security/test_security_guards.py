"""The process's limits (openim.security.guards): codes, messages, counting."""

from __future__ import annotations

import pytest

from openim.config import Config, SecurityConfig
from openim.ops.metrics import Metrics
from openim.security.guards import Guards
from openim.wire.errors import ErrCode, OpenIMError


def _guards(**security: object) -> tuple[Guards, Metrics]:
    metrics = Metrics("n1", ("api",))
    config = Config(security=SecurityConfig.model_validate(security))
    return Guards(config, metrics), metrics


def _count(metrics: Metrics, limit: str) -> float:
    return metrics.limit_refusals.labels(limit=limit)._value.get()  # type: ignore[no-any-return]


def test_send_rate_refuses_with_1002_and_counts_and_spares_admins() -> None:
    guards, metrics = _guards(send_rate=1, send_burst=2)
    guards.check_send("u", False)
    guards.check_send("u", False)
    with pytest.raises(OpenIMError) as info:
        guards.check_send("u", False)
    assert info.value.code == ErrCode.NO_PERMISSION and info.value.detail.startswith("rate limited")
    assert _count(metrics, "send_rate") == 1
    for _ in range(100):
        guards.check_send("imAdmin", True)


def test_login_rates_per_address_and_per_user_with_the_callers_code() -> None:
    guards, metrics = _guards(login_rate_user=0.001, login_burst_user=1, login_rate_ip=0.001, login_burst_ip=2)
    guards.check_login("a", "1.2.3.4")
    with pytest.raises(OpenIMError) as info:
        guards.check_login("a", "", ErrCode.CONN_OVER_MAX_NUM_LIMIT)
    assert info.value.code == ErrCode.CONN_OVER_MAX_NUM_LIMIT
    guards.check_login("b", "1.2.3.4")
    with pytest.raises(OpenIMError):
        guards.check_login("c", "1.2.3.4")  # the address is spent, whoever logs in
    assert _count(metrics, "login_user") == 1 and _count(metrics, "login_ip") == 1


def test_admin_secret_throttle_is_judged_in_one_step() -> None:
    guards, metrics = _guards(admin_secret_attempts=2, admin_secret_backoff=60)
    outcomes = []
    for _ in range(5):
        try:
            guards.check_admin_secret("9.9.9.9", False)
        except OpenIMError as err:
            outcomes.append(err.detail.split(":")[0])
    assert outcomes == ["secret invalid", "secret invalid", "rate limited", "rate limited", "rate limited"]
    with pytest.raises(OpenIMError):  # blocked even with the right secret
        guards.check_admin_secret("9.9.9.9", True)
    guards.check_admin_secret("8.8.8.8", True)  # another address
    assert _count(metrics, "admin_secret") == 4
