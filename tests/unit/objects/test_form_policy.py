"""Our form policy (the local backend's): what verify accepts, and every way it refuses."""

from __future__ import annotations

import pytest

from openim.objects import form_policy
from openim.objects.form_policy import FormPolicy, FormRefused

KEY = form_policy.derive_key("the-server-secret")
POLICY = FormPolicy("up1", 1234, "image/png", expires_ms=2_000)


def test_a_signed_policy_verifies_until_it_expires() -> None:
    encoded, signature = form_policy.sign(POLICY, KEY)
    assert form_policy.verify(encoded, signature, KEY, now_ms=1_999) == POLICY
    assert form_policy.verify(encoded, signature.upper(), KEY, now_ms=0) == POLICY
    with pytest.raises(FormRefused, match="expired") as expired:
        form_policy.verify(encoded, signature, KEY, now_ms=2_000)
    assert expired.value.status == 403


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e, s: (e, "0" * 64),  # forged signature
        lambda e, s: (form_policy.sign(FormPolicy("up1", 99_999, "image/png", 2_000), KEY)[0], s),  # other size
        lambda e, s: (e[:-2] + "AA", s),  # bytes changed
        lambda e, s: ("", s),
        lambda e, s: (e, ""),
        lambda e, s: (e + "é", s),  # not even ASCII
        lambda e, s: (e, s + "é"),
    ],
)
def test_anything_else_is_refused(tamper: object) -> None:
    encoded, signature = form_policy.sign(POLICY, KEY)
    bad_encoded, bad_signature = tamper(encoded, signature)  # type: ignore[operator]
    with pytest.raises(FormRefused) as refused:
        form_policy.verify(bad_encoded, bad_signature, KEY, now_ms=0)
    assert refused.value.status == 403


def test_another_secret_signs_differently() -> None:
    encoded, signature = form_policy.sign(POLICY, form_policy.derive_key("another-secret"))
    with pytest.raises(FormRefused, match="signature"):
        form_policy.verify(encoded, signature, KEY, now_ms=0)
