"""The framework's registration and access helpers: a route table is a list of RouteSpec rows (a path
only once), and ``Caller.acting_for`` is CheckAccess on a required field."""

from __future__ import annotations

from typing import Any

import pytest

from openim.api.framework import Auth, Caller, Router, RouteSpec
from openim.services.tokens import Claims
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import sdkws_pb2


async def _handler(caller: Caller, req: Any) -> None:
    return None


def caller(user_id: str, *, admin: bool = False) -> Caller:
    return Caller("op", Claims(user_id, 5, 0, "t"), admin, None)  # type: ignore[arg-type]


def test_a_table_registers_each_path_once() -> None:
    router = Router(tokens=None, metrics=None, max_body=1024)  # type: ignore[arg-type]  # never called here
    router.add(
        RouteSpec("/b", sdkws_pb2.GetMaxSeqReq, sdkws_pb2.GetMaxSeqResp, _handler),
        RouteSpec("/a", sdkws_pb2.GetMaxSeqReq, None, _handler, auth=Auth.ADMIN, bind_400=True),
    )
    router.route("/c", sdkws_pb2.GetMaxSeqReq, protobuf=True)(_handler)
    assert router.paths == ["/a", "/b", "/c"]
    a, b, c = router.specs
    assert (a.auth, a.bind_400, a.protobuf) == (Auth.ADMIN, True, False)
    assert (b.auth, b.bind_400, b.resp_cls) == (Auth.USER, False, sdkws_pb2.GetMaxSeqResp)
    assert (c.protobuf, c.handler) == (True, _handler)
    with pytest.raises(ValueError, match="registered twice"):
        router.add(RouteSpec("/a", sdkws_pb2.GetMaxSeqReq, None, _handler))


def test_acting_for_is_checkaccess_on_a_required_field() -> None:
    assert caller("alice").acting_for("alice") == "alice"
    assert caller("imAdmin", admin=True).acting_for("alice", "ownerUserID") == "alice"
    with pytest.raises(OpenIMError) as empty:
        caller("alice").acting_for("", "ownerUserID")
    assert (empty.value.code, empty.value.detail) == (ErrCode.ARGS, "ownerUserID is empty")
    with pytest.raises(OpenIMError) as other:
        caller("alice").acting_for("bob")
    assert other.value.code == ErrCode.NO_PERMISSION
