"""Join requests through GroupService (requests.py): who answers them, what an answer does to the
membership and the request, that a request is answered once, and who reads whose requests."""

from __future__ import annotations

import pytest

from openim.services.groups.access import Operator
from openim.storage.groups.records import GroupPatch, HandleResult, Verification
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode
from openim.wire.pb import group_pb2, sdkws_pb2
from tests.unit.services.groups.group_rig import World, code_of

pytestmark = pytest.mark.trio

PAGE = sdkws_pb2.RequestPagination(pageNumber=1, showNumber=10)


@pytest.fixture
async def applied(world: World) -> World:
    """The group of ``world`` with a pending application of ``out``."""
    req = group_pb2.JoinGroupReq(groupID=world.group_id, inviterUserID="out", joinSource=3, reqMessage="hi")
    await world.groups.join(Operator("out"), req, "op")
    assert world.notifier.kinds()[-1] == ContentType.JOIN_GROUP_APPLICATION
    return world


async def _result(world: World) -> int:
    _, rows = await world.store.get_group_requests(group_ids=[world.group_id], user_ids=["out"])
    return int(rows[0].handle_result)


async def test_accept_lets_the_applicant_in_once(applied: World) -> None:
    world, gid = applied, applied.group_id
    await world.groups.respond(Operator("adm"), gid, "out", "welcome", HandleResult.ACCEPTED, "op")
    assert "out" in await world.roles()
    assert await _result(world) == HandleResult.ACCEPTED
    assert world.notifier.recipients(ContentType.GROUP_APPLICATION_ACCEPTED) == ["own", "adm", "out"]
    assert world.notifier.kinds()[-1] == ContentType.MEMBER_ENTER
    again = world.groups.respond(Operator("own"), gid, "out", "", HandleResult.REFUSED, "op")
    assert await code_of(again) == ErrCode.GROUP_REQUEST_HANDLED


async def test_refuse_keeps_the_applicant_out(applied: World) -> None:
    world = applied
    await world.groups.respond(Operator("own"), world.group_id, "out", "no", HandleResult.REFUSED, "op")
    assert "out" not in await world.roles()
    assert await _result(world) == HandleResult.REFUSED
    assert world.notifier.tips(ContentType.GROUP_APPLICATION_REJECTED)["handleMsg"] == "no"


@pytest.mark.parametrize(
    ("op", "applicant", "result", "code"),
    [
        (Operator("mem"), "out", HandleResult.ACCEPTED, ErrCode.NO_PERMISSION),
        (Operator("new"), "out", HandleResult.ACCEPTED, ErrCode.RECORD_NOT_FOUND),  # a non-member operator
        (Operator("own"), "new", HandleResult.ACCEPTED, ErrCode.RECORD_NOT_FOUND),  # no such application
        (Operator("own"), "out", 2, ErrCode.ARGS),
    ],
)
async def test_respond_refusals(applied: World, op: Operator, applicant: str, result: int, code: int) -> None:
    assert await code_of(applied.groups.respond(op, applied.group_id, applicant, "", result, "op")) == code
    assert await _result(applied) == HandleResult.PENDING


async def test_who_reads_requests(applied: World) -> None:
    world, gid = applied, applied.group_id
    assert (await world.groups.requests_of(Operator("out"), gid, ["out"]))[0] == 1  # his own
    assert await code_of(world.groups.requests_of(Operator("mem"), gid, ["out"])) == ErrCode.NO_PERMISSION
    total, rows = await world.groups.requests_of(Operator("adm"), gid, ["out"])
    assert total == 1 and rows[0].userInfo.userID == "out" and rows[0].groupInfo.groupID == gid
    received = world.groups.applications_received(Operator("mem"), "mem", [gid], [], PAGE)
    assert await code_of(received) == ErrCode.NO_PERMISSION
    assert (await world.groups.applications_received(Operator("adm"), "adm", [], [], PAGE))[0] == 1
    assert (await world.groups.applications_made("out", [], [], PAGE))[0] == 1


async def test_invitation_request_accepted_names_the_inviter(world: World) -> None:
    await world.groups.set_group_info(
        Operator("own"), world.group_id, GroupPatch(need_verification=int(Verification.ALL_NEED_APPROVAL)), "op"
    )
    await world.groups.invite(Operator("mem"), world.group_id, ["out"], "", "op")
    await world.groups.respond(Operator("own"), world.group_id, "out", "", HandleResult.ACCEPTED, "op")
    member = {m.user_id: m for m in await world.store.get_group_members(world.group_id)}["out"]
    assert member.inviter_user_id == "mem"
    assert world.notifier.tips(ContentType.MEMBER_INVITED)["inviterUser"]["userID"] == "mem"
