"""Connection counting per listener and per address (openim.security.connlimit)."""

from __future__ import annotations

import json

from openim.security.connlimit import ConnectionLimiter, refusal_response


def test_per_address_and_total_limits() -> None:
    limiter = ConnectionLimiter(max_total=3, per_ip=2)
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") == "per_ip"
    assert limiter.acquire("b") is None
    assert limiter.acquire("c") == "total"
    limiter.release("a")
    assert limiter.held_by("a") == 1 and limiter.acquire("c") is None
    for ip in ("a", "b", "c"):
        limiter.release(ip)
    assert limiter.total == 0 and limiter.held_by("a") == 0


def test_exempt_addresses_count_toward_the_total_only() -> None:
    limiter = ConnectionLimiter(max_total=3, per_ip=1, exempt=frozenset({"127.0.0.1"}))
    assert [limiter.acquire("127.0.0.1") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("a") == "total"
    limiter.release("127.0.0.1")
    assert limiter.acquire("a") is None and limiter.acquire("a") == "total"


def test_zero_means_no_limit() -> None:
    limiter = ConnectionLimiter(0, 0)
    assert all(limiter.acquire("a") is None for _ in range(10_000))


def test_the_refusal_is_openims_1601_envelope_over_http_200() -> None:
    raw = refusal_response("too many connections (per ip)")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"connection: close" in head
    assert f"content-length: {len(body)}".encode() in head
    assert json.loads(body) == {
        "errCode": 1601, "errMsg": "ConnOverMaxNumLimit", "errDlt": "too many connections (per ip)"
    }
