"""One table of text lengths, one check: the same limit wherever a field is written."""

from __future__ import annotations

import pytest

from openim.services.field_limits import FIELD_LIMITS, check_fields
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
