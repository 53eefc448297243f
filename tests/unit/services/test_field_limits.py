"""One table of text lengths, one check: the same limit wherever a field is written."""

from __future__ import annotations

import pytest

from openim.config import FieldLimitsConfig
from openim.services.field_limits import FIELD_LIMITS, check_fields, configure
from openim.services.users import MAX_NICKNAME_LEN
from openim.wire.errors import ErrCode, OpenIMError


def test_at_the_limit_passes_one_more_is_1001_naming_the_field() -> None:
    for name, limit in FIELD_LIMITS.items():
        check_fields({name: "x" * limit.max_chars})
        with pytest.raises(OpenIMError) as err:
            check_fields({name: "x" * (limit.max_chars + 1)}, subject="user u1: ")
        assert err.value.code == ErrCode.ARGS
        assert err.value.detail == (
            f"user u1: {limit.wire_name} is {limit.max_chars + 1} characters long, at most {limit.max_chars} allowed"
        )


def test_characters_not_bytes_and_other_fields_pass() -> None:
    check_fields({"nickname": "🙂" * 255})  # 1020 UTF-8 bytes, 255 characters
    check_fields({"global_recv_msg_opt": 2, "role_level": 60, "unknown": "x" * 100_000, "ex": None})


def test_registration_and_update_share_the_nickname_limit() -> None:
    assert FIELD_LIMITS["nickname"].max_chars == MAX_NICKNAME_LEN == 255


def test_the_config_sets_the_limits() -> None:
    try:
        configure(FieldLimitsConfig(nickname=10, ex=20))
        check_fields({"nickname": "x" * 10, "face_url": "f" * 2048})
        with pytest.raises(OpenIMError, match="nickname is 11 characters long, at most 10 allowed"):
            check_fields({"nickname": "x" * 11})
        with pytest.raises(OpenIMError, match="ex is 21 characters"):
            check_fields({"ex": "x" * 21})
    finally:
        configure(FieldLimitsConfig())
    check_fields({"nickname": "x" * 255})
