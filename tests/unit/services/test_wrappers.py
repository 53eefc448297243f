"""wrapped_patch: a request's present wrappers set their patch field, absent ones leave it None."""

from __future__ import annotations

from openim.services.wrappers import wrapped_patch
from openim.storage.messages.records import ConversationPatch
from openim.wire.pb import conversation_pb2, wrapperspb_pb2

FIELDS = {"recvMsgOpt": "recv_msg_opt", "isPinned": "is_pinned", "ex": "ex"}


def test_present_wrappers_set_their_field_even_to_a_zero_value() -> None:
    req = conversation_pb2.ConversationReq(
        isPinned=wrapperspb_pb2.BoolValue(value=False), ex=wrapperspb_pb2.StringValue(value="")
    )
    assert wrapped_patch(ConversationPatch, req, FIELDS) == ConversationPatch(is_pinned=False, ex="")


def test_no_wrapper_is_an_empty_patch() -> None:
    assert wrapped_patch(ConversationPatch, conversation_pb2.ConversationReq(), FIELDS).changed() == {}
