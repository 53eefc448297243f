"""Token handling as OpenIM has it: JWT checks, server-side status, the multi-login policies."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.config import AuthConfig
from openim.services.tokens import TokenService
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.constants import Platform
from openim.wire.errors import ErrCode, OpenIMError

pytestmark = pytest.mark.trio
SECRET = "unit-secret"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "t.db")
    await s.open()
    yield s
    await s.aclose()


def service(store: SqliteStore, **auth: object) -> TokenService:
    return TokenService(SECRET, AuthConfig.model_validate(auth), store, MemoryBus())


async def refused(tokens: TokenService, token: str) -> ErrCode:
    with pytest.raises(OpenIMError) as caught:
        await tokens.verify(token)
    return caught.value.code


async def test_issue_then_verify(store: SqliteStore) -> None:
    tokens = service(store)
    token = await tokens.issue("u1", Platform.WEB)
    claims = await tokens.verify(token)
    assert (claims.user_id, claims.platform_id) == ("u1", 5)
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert {"UserID", "PlatformID", "exp", "iat"} <= set(payload)
    assert payload["exp"] - time.time() == pytest.approx(90 * 86400, abs=10)


async def test_jwt_failures_map_to_openim_codes(store: SqliteStore) -> None:
    tokens = service(store)
    now = int(time.time())
    wrong_secret = jwt.encode({"UserID": "u1", "PlatformID": 5, "exp": now + 60}, "other", algorithm="HS256")
    expired = jwt.encode({"UserID": "u1", "PlatformID": 5, "exp": now - 60}, SECRET, algorithm="HS256")
    not_yet = jwt.encode({"UserID": "u1", "PlatformID": 5, "exp": now + 600, "nbf": now + 300}, SECRET)
    unknown = jwt.encode({"UserID": "u1", "PlatformID": 5, "exp": now + 60}, SECRET, algorithm="HS256")
    assert await refused(tokens, "not-a-jwt") == ErrCode.TOKEN_MALFORMED
    assert await refused(tokens, wrong_secret) == ErrCode.TOKEN_UNKNOWN
    assert await refused(tokens, expired) == ErrCode.TOKEN_EXPIRED
    assert await refused(tokens, not_yet) == ErrCode.TOKEN_NOT_VALID_YET
    assert await refused(tokens, unknown) == ErrCode.TOKEN_NOT_EXIST
    assert await refused(tokens, "") == ErrCode.ARGS


async def test_default_policy_kicks_same_platform_only(store: SqliteStore) -> None:
    tokens = service(store)
    web_old = await tokens.issue("u1", Platform.WEB)
    android = await tokens.issue("u1", Platform.ANDROID)
    await tokens.verify(web_old)  # cached as valid: the new login must still end it
    web_new = await tokens.issue("u1", Platform.WEB)
    assert await refused(tokens, web_old) == ErrCode.TOKEN_KICKED
    assert (await tokens.verify(web_new)).platform_id == 5
    assert (await tokens.verify(android)).platform_id == 2


async def test_policy_never_kick_keeps_a_bounded_number(store: SqliteStore) -> None:
    tokens = service(store, multi_login_policy=0, max_tokens_per_platform=2)
    first = await tokens.issue("u1", Platform.WEB)
    time.sleep(0.002)
    second = await tokens.issue("u1", Platform.WEB)
    time.sleep(0.002)
    third = await tokens.issue("u1", Platform.WEB)
    assert await refused(tokens, first) == ErrCode.TOKEN_NOT_EXIST
    for token in (second, third):
        assert (await tokens.verify(token)).user_id == "u1"


async def test_class_policy_kicks_the_whole_class(store: SqliteStore) -> None:
    tokens = service(store, multi_login_policy=4)
    ios = await tokens.issue("u1", Platform.IOS)
    windows = await tokens.issue("u1", Platform.WINDOWS)
    await tokens.issue("u1", Platform.ANDROID)  # same class (Mobile) as iOS
    assert await refused(tokens, ios) == ErrCode.TOKEN_KICKED
    assert (await tokens.verify(windows)).platform_id == 3


async def test_force_kick_spares_the_named_token(store: SqliteStore) -> None:
    tokens = service(store, multi_login_policy=0)
    a = await tokens.issue("u1", Platform.WEB)
    b = await tokens.issue("u1", Platform.WEB)
    changed = await tokens.kick("u1", [Platform.WEB], except_token=b)
    assert changed == [a]
    assert await refused(tokens, a) == ErrCode.TOKEN_KICKED
    assert (await tokens.verify(b)).user_id == "u1"


async def test_invalid_platform_is_refused(store: SqliteStore) -> None:
    with pytest.raises(OpenIMError) as caught:
        await service(store).issue("u1", 42)
    assert caught.value.code == ErrCode.ARGS


async def test_concurrent_logins_leave_exactly_the_newest_token(store: SqliteStore) -> None:
    tokens = service(store)
    issued: list[str] = []

    async def login() -> None:
        issued.append(await tokens.issue("race", Platform.WEB))

    for _ in range(5):
        issued.clear()
        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(login)
        valid = []
        for token in issued:
            try:
                await tokens.verify(token)
                valid.append(token)
            except OpenIMError as err:
                assert err.code == ErrCode.TOKEN_KICKED
        newest = max(issued, key=tokens.issued_ms)
        assert valid == [newest]


async def test_issue_times_strictly_increase(store: SqliteStore) -> None:
    tokens = service(store)
    times = [tokens.issued_ms(await tokens.issue("u1", Platform.WEB)) for _ in range(20)]
    assert times == sorted(set(times)) and times[0] > 0


async def test_a_kick_spares_tokens_issued_after_it(store: SqliteStore) -> None:
    tokens = service(store, multi_login_policy=0)
    older = await tokens.issue("u1", Platform.WEB)
    newer = await tokens.issue("u1", Platform.WEB)
    await tokens.kick("u1", [Platform.WEB], except_token=older, issued_before_ms=tokens.issued_ms(older))
    assert (await tokens.verify(newer)).user_id == "u1"


def _token(payload: dict[str, object], secret: str = SECRET, **headers: object) -> str:
    return jwt.encode(payload, secret, algorithm="HS256", headers=headers or None)


async def test_plain_decoding_accepts_exactly_what_pyjwt_accepts(store: SqliteStore) -> None:
    """decode() checks the tokens this server issues without PyJWT; every other token still goes
    through PyJWT, so each case below gets the same answer both ways."""
    tokens = service(store)
    now = int(time.time())
    base: dict[str, object] = {"UserID": "u1", "PlatformID": 5, "exp": now + 60, "iat": now, "jti": "j", "iat_ms": 7}
    issued = await tokens.issue("u2", Platform.IOS)
    cases = [
        issued,
        _token(base),
        _token({**base, "exp": now - 1}),  # expired
        _token({**base, "nbf": now + 300}),  # not yet valid
        _token({**base, "aud": "someone"}),  # an audience nobody asked for
        _token({**base, "jti": 5}),  # a jti that is not a string
        _token({**base, "PlatformID": True}),
        _token({**base, "exp": float(now + 60)}),
        _token({**base, "extra": 1}),  # an unknown claim: PyJWT's path (accepted)
        _token(base, secret="other-secret"),
        _token(base, kid="k1"),  # another header: PyJWT's path (accepted)
        _token(base)[:-2] + "AA",  # a damaged signature
        "not-a-jwt",
        "a.b.c",
    ]

    pyjwt_only = service(store)
    pyjwt_only._decode_plain = lambda _token: None  # type: ignore[method-assign]

    def outcome(token: str, checker: TokenService) -> object:
        try:
            return checker.decode(token)
        except OpenIMError as exc:
            return exc.code

    for case in cases:
        assert outcome(case, tokens) == outcome(case, pyjwt_only), case
    assert tokens._decode_plain(issued) is not None  # the common case really takes the plain path
    assert tokens._decode_plain(_token({**base, "exp": now - 1})) is None
