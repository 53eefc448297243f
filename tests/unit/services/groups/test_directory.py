"""GroupDirectory as the group service keeps it: the send checks (membership, mutes, dismissal), the push
audience (the removed included) and the member cache following this process's changes."""

from __future__ import annotations

import json

import pytest

from openim.pipeline.msg import Sender
from openim.services.groups.access import Operator
from openim.services.groups.directory import removed_users
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.jsoncodec import notification_content
from openim.wire.pb import sdkws_pb2
from tests.unit.services.groups.group_rig import World

pytestmark = pytest.mark.trio


def group_msg(world: World, sender: str) -> sdkws_pb2.MsgData:
    return sdkws_pb2.MsgData(sendID=sender, groupID=world.group_id, sessionType=3, contentType=101)


async def refused(world: World, sender: str) -> int:
    try:
        await world.groups.directory.check_group_send(group_msg(world, sender), Sender(sender))
    except OpenIMError as err:
        return int(err.code)
    return 0


async def test_send_checks(world: World) -> None:
    gid = world.group_id
    assert await refused(world, "mem") == 0
    assert await refused(world, "out") == ErrCode.NOT_IN_GROUP_YET
    await world.groups.mute_member(Operator("adm"), gid, "mem", 60, "op")
    assert await refused(world, "mem") == ErrCode.MUTED_IN_GROUP
    await world.groups.mute_member(Operator("adm"), gid, "mem", 0, "op")
    await world.groups.mute_group(Operator("own"), gid, True, "op")
    assert (await refused(world, "mem"), await refused(world, "adm"), await refused(world, "own")) == (1403, 0, 0)
    await world.groups.mute_group(Operator("own"), gid, False, "op")
    assert await refused(world, "mem") == 0
    await world.groups.dismiss(Operator("own"), gid, False, "op")
    assert await refused(world, "own") == ErrCode.DISMISSED_ALREADY
    with pytest.raises(OpenIMError) as unknown:
        await world.groups.directory.check_group_send(
            sdkws_pb2.MsgData(sendID="own", groupID="nope", sessionType=3), Sender("own")
        )
    assert unknown.value.code == ErrCode.RECORD_NOT_FOUND


async def test_push_audience_includes_the_removed(world: World) -> None:
    await world.groups.kick(Operator("own"), world.group_id, ["mem"], "", "op")
    kicked = world.notifier.sent[-1]
    assert kicked["content_type"] == ContentType.MEMBER_KICKED
    msg = sdkws_pb2.MsgData(
        groupID=world.group_id, contentType=ContentType.MEMBER_KICKED, content=notification_content(kicked["tips"])
    )
    assert removed_users(msg) == ["mem"]
    assert list(await world.groups.directory.push_audience(msg)) == ["own", "adm", "mem"]
    chat = sdkws_pb2.MsgData(groupID=world.group_id, contentType=101, content=json.dumps({"content": "x"}).encode())
    assert list(await world.groups.directory.push_audience(chat)) == ["own", "adm"]


async def test_member_cache_follows_changes_in_this_process(world: World) -> None:
    assert list(await world.groups.directory.member_ids(world.group_id)) == ["own", "adm", "mem"]
    await world.groups.invite(Operator("mem"), world.group_id, ["out"], "", "op")
    assert list(await world.groups.directory.member_ids(world.group_id)) == ["own", "adm", "mem", "out"]
    await world.groups.quit(Operator("out"), world.group_id, "out", "op")
    assert list(await world.groups.directory.member_ids(world.group_id)) == ["own", "adm", "mem"]
    assert world.notifier.kinds()[-2:] == [ContentType.MEMBER_INVITED, ContentType.MEMBER_QUIT]
