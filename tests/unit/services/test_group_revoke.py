"""message_ops' revoke rule in a group (check_may_revoke over the members' roles): the owner revokes anyone's
message, an admin an ordinary or former member's, nobody else another's."""

from __future__ import annotations

import pytest

from openim.services.message_ops import Actor, check_may_revoke
from openim.storage.messages.records import StoredMessage
from openim.wire.errors import ErrCode, OpenIMError

pytestmark = pytest.mark.trio


def _group_message(send_id: str) -> StoredMessage:
    return StoredMessage("sg_g", 1, send_id, "c", "s", 0, 3, 101, b"", group_id="g")


@pytest.mark.parametrize(
    ("who", "sender", "roles", "allowed"),
    [
        ("own", "adm", {"own": 100, "adm": 60}, True),  # the owner revokes anyone's
        ("adm", "mem", {"adm": 60, "mem": 20}, True),  # an admin revokes ordinary members'
        ("adm", "gone", {"adm": 60}, True),  # ... and former members'
        ("adm", "own", {"adm": 60, "own": 100}, False),
        ("adm", "adm2", {"adm": 60, "adm2": 60}, False),
        ("mem", "mem2", {"mem": 20, "mem2": 20}, False),
        ("out", "mem", {"mem": 20}, False),
    ],
)
async def test_group_revoke_rule(who: str, sender: str, roles: dict[str, int], allowed: bool) -> None:
    actor = Actor(user_id=who, op_user_id=who, is_admin=False, operation_id="op")
    if allowed:
        check_may_revoke(_group_message(sender), actor, roles)
    else:
        with pytest.raises(OpenIMError) as caught:
            check_may_revoke(_group_message(sender), actor, roles)
        assert caught.value.code == ErrCode.NO_PERMISSION
