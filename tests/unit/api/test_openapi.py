"""The OpenAPI document is a pure function of the registered routes and their protobuf request types."""

from __future__ import annotations

from typing import Any

from openim.api.framework import Auth, Router
from openim.api.openapi import openapi_document
from openim.wire.pb import apistruct_pb2, msg_pb2, sdkws_pb2


async def _handler(caller: Any, req: Any) -> None:
    return None


def _router() -> Router:
    router = Router(tokens=None, metrics=None, max_body=1024)  # type: ignore[arg-type]  # never called here
    router.route("/msg/pull_msg_by_seq", sdkws_pb2.PullMessageBySeqsReq)(_handler)
    router.route("/msg/send_msg", apistruct_pb2.SendMsgReq, auth=Auth.ADMIN)(_handler)
    router.route("/auth/get_admin_token", sdkws_pb2.GetMaxSeqReq, auth=Auth.NONE)(_handler)
    router.route("/msg/ws_send", msg_pb2.SendMsgReq)(_handler)
    return router


def test_every_route_is_a_post_with_its_headers_and_body() -> None:
    doc = openapi_document(_router(), "http://127.0.0.1:10002")
    assert doc["openapi"] == "3.0.3" and doc["servers"] == [{"url": "http://127.0.0.1:10002"}]
    assert sorted(doc["paths"]) == ["/auth/get_admin_token", "/msg/pull_msg_by_seq", "/msg/send_msg", "/msg/ws_send"]
    pull = doc["paths"]["/msg/pull_msg_by_seq"]["post"]
    assert [(p["name"], p["required"]) for p in pull["parameters"]] == [("operationID", True), ("token", True)]
    assert [p["name"] for p in doc["paths"]["/auth/get_admin_token"]["post"]["parameters"]] == ["operationID"]
    body = pull["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/openim.sdkws.PullMessageBySeqsReq"}
    # /msg/send_msg takes a free-form content object the proto leaves out.
    send = doc["paths"]["/msg/send_msg"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert send["allOf"][1]["required"] == ["content"]


def test_schemas_follow_the_json_codec() -> None:
    schemas = openapi_document(_router())["components"]["schemas"]
    pull = schemas["openim.sdkws.PullMessageBySeqsReq"]["properties"]
    assert pull["userID"] == {"type": "string"}
    assert pull["seqRanges"] == {"type": "array", "items": {"$ref": "#/components/schemas/openim.sdkws.SeqRange"}}
    assert pull["order"] == {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}  # enums are numbers
    rng = schemas["openim.sdkws.SeqRange"]["properties"]
    assert rng["begin"] == {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    msg = schemas["openim.sdkws.MsgData"]["properties"]
    assert msg["content"] == {"type": "string", "format": "byte"}  # bytes are base64
    assert msg["options"]["type"] == "object" and msg["options"]["additionalProperties"] == {"type": "boolean"}
