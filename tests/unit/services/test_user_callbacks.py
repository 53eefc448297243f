"""The user callbacks' bodies and what their answers may change (pure functions)."""

from __future__ import annotations

import pytest

from openim.services.user_callbacks import profile_changes, profile_hook, register_hook, users_from_answer
from openim.storage.messages.records import UserPatch, UserRecord
from openim.wire.errors import ErrCode, OpenIMError


def test_register_body_is_openims_user_info() -> None:
    assert register_hook([UserRecord("u", "N", ex="e", create_time=5)]) == {"users": [
        {"userID": "u", "nickname": "N", "faceURL": "", "ex": "e", "createTime": 5, "appMangerLevel": 0,
         "globalRecvMsgOpt": 0}]}


def test_register_answer_replaces_the_users_when_it_lists_any() -> None:
    assert users_from_answer(None) is None and users_from_answer({"users": []}) is None
    (user,) = users_from_answer({"users": [{"userID": "v", "nickname": "M", "globalRecvMsgOpt": 2}]}) or []
    assert (user.user_id, user.nickname, user.global_recv_msg_opt) == ("v", "M", 2)
    with pytest.raises(OpenIMError) as bad:
        users_from_answer({"users": ["v"]})
    assert bad.value.code == ErrCode.ARGS


def test_profile_body_and_changes() -> None:
    patch = UserPatch(nickname="n")
    assert profile_hook("u", patch, legacy=False) == {"userID": "u", "nickName": "n", "faceURL": None, "ex": None}
    assert profile_hook("u", patch, legacy=True) == {"userID": "u", "nickName": "n", "faceURL": "", "ex": ""}
    assert profile_changes({"nickName": "x", "faceURL": None, "ex": 3}) == {"nickname": "x"}
