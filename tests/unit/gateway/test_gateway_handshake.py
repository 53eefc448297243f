"""Handshake argument parsing and validation: lenient query parsing, the ``v`` form, and the Go
gateway's validation order and error choice (OpenIM's ws_server.go)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from openim.gateway.handshake import ConnArgs, HandshakeRefused, check_claims, parse_conn_args, parse_query
from openim.wire.codec import GOB, GOB_GZIP, JSON, JSON_GZIP, FrameCodec
from openim.wire.errors import ErrCode

SDK_URL = (
    "/?sendID=u1&token=eyJ.a_b-c.sig&platformID=5&operationID=k3j2abc1700000000000"
    "&isBackground=false&isMsgResp=true&sdkType=js"
)


def refusal(target: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    with pytest.raises(HandshakeRefused) as info:
        parse_conn_args(target, headers or {})
    return int(info.value.code), info.value.detail


def query(**params: Any) -> str:
    """A target built like the JS SDK builds it (no encoding); None drops a key."""
    base: dict[str, Any] = {
        "sendID": "u1",
        "token": "tok",
        "platformID": "5",
        "operationID": "op",
        "isBackground": "false",
        "isMsgResp": "true",
        "sdkType": "js",
    }
    base.update(params)
    return "/?" + "&".join(f"{k}={v}" for k, v in base.items() if v is not None)


def v_form(**info: Any) -> str:
    raw = json.dumps(info).encode()
    return "/?v=" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- parse_query ----------------------------------------------------------------------------------------


def test_the_sdk_url_parses_to_the_expected_args() -> None:
    args = parse_conn_args(SDK_URL, {})
    assert args == ConnArgs(
        user_id="u1",
        token="eyJ.a_b-c.sig",
        platform_id=5,
        operation_id="k3j2abc1700000000000",
        is_msg_resp=True,
        is_background=False,
        sdk_type="js",
    )


def test_query_values_are_taken_as_sent_except_valid_percent_escapes() -> None:
    q = parse_query("/any/path?sendID=a+b&token=x%2By&bad=%zz&eq=a=b&empty=&flag")
    assert q == {"sendID": "a+b", "token": "x+y", "bad": "%zz", "eq": "a=b", "empty": "", "flag": ""}


def test_first_occurrence_wins_and_fragment_is_ignored() -> None:
    assert parse_query("/?a=1&a=2&b=3#frag=4") == {"a": "1", "b": "3"}


def test_no_query_is_empty() -> None:
    assert parse_query("/") == {}
    assert parse_query("/?") == {}


def test_any_path_is_accepted() -> None:
    assert parse_conn_args("/some/prefix" + SDK_URL[1:], {}).user_id == "u1"


# -- validation order and codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"platformID": None}, (1602, "platformID is not int")),
        ({"platformID": "5.0"}, (1602, "platformID is not int")),
        ({"platformID": " 5"}, (1602, "platformID is not int")),
        ({"isMsgResp": "yes"}, (1602, "isMsgResp is not bool")),
        ({"isBackground": None}, (500, "isBackground is not bool")),
        ({"isBackground": "no"}, (500, "isBackground is not bool")),
        ({"operationID": ""}, (1602, "operationID is empty")),
        ({"token": None}, (1602, "token is empty")),
        ({"sendID": ""}, (1602, "sendID is empty")),
        ({"platformID": "0"}, (1602, "platformID is invalid")),
        ({"platformID": "12"}, (1602, "platformID is invalid")),
        ({"sdkType": "java"}, (1602, "sdkType is invalid")),
        ({"sdkType": "JS"}, (1602, "sdkType is invalid")),
    ],
)
def test_each_argument_error(params: dict[str, Any], expected: tuple[int, str]) -> None:
    assert refusal(query(**params)) == expected


def test_errors_come_in_the_go_order() -> None:
    # platformID is checked before isMsgResp, which is checked before isBackground, ...
    assert refusal(query(platformID="x", isMsgResp="x", isBackground=None)) == (1602, "platformID is not int")
    assert refusal(query(isMsgResp="x", isBackground=None)) == (1602, "isMsgResp is not bool")
    assert refusal(query(isBackground=None, operationID="")) == (500, "isBackground is not bool")
    assert refusal(query(operationID="", token="", sendID="")) == (1602, "operationID is empty")
    assert refusal(query(token="", sendID="", platformID="99")) == (1602, "token is empty")
    assert refusal(query(sendID="", platformID="99")) == (1602, "sendID is empty")
    assert refusal(query(platformID="99", sdkType="x")) == (1602, "platformID is invalid")


def test_go_bool_spellings_and_optional_is_msg_resp() -> None:
    assert parse_conn_args(query(isBackground="T", isMsgResp="0"), {}).is_background is True
    args = parse_conn_args(query(isMsgResp=None, isBackground="FALSE"), {})
    assert (args.is_msg_resp, args.is_background) == (False, False)


def test_compression_header_is_the_fallback() -> None:
    assert parse_conn_args(query(), {"compression": "gzip"}).codec is JSON_GZIP
    assert parse_conn_args(query(compression="gzip"), {"compression": "none"}).compression == "gzip"
    assert parse_conn_args(query(), {"compression": "none"}).compression == "none"


@pytest.mark.parametrize(
    ("params", "codec"),
    [
        ({}, JSON),
        ({"compression": "gzip"}, JSON_GZIP),
        ({"sdkType": None}, GOB),  # what openim-sdk-core sends: no sdkType at all
        ({"sdkType": "go"}, GOB),
        ({"sdkType": None, "compression": "gzip"}, GOB_GZIP),
        ({"sdkType": "go", "compression": "deflate"}, GOB),  # anything but gzip: uncompressed, as OpenIM
    ],
)
def test_sdk_type_and_compression_choose_the_codec(params: dict[str, Any], codec: FrameCodec) -> None:
    assert parse_conn_args(query(**params), {}).codec is codec


def test_refusal_body_is_the_openim_error_json() -> None:
    exc = HandshakeRefused(ErrCode.CONN_ARGS, "sendID is empty")
    assert json.loads(exc.body_text()) == {
        "errCode": 1602,
        "errMsg": "args err, need token, sendID, platformID",
        "errDlt": "sendID is empty",
    }


# -- the v form ----------------------------------------------------------------------------------------------


def test_v_form_replaces_every_other_key() -> None:
    target = v_form(
        token="t", userID="u9", platformID=2, operationID="o", sdkType="js", sendResponse=True, background=True
    )
    args = parse_conn_args(target + "&sendID=ignored&platformID=x", {})
    assert (args.user_id, args.token, args.platform_id, args.is_msg_resp, args.is_background) == (
        "u9",
        "t",
        2,
        True,
        True,
    )


def test_v_form_defaults_and_errors() -> None:
    args = parse_conn_args(v_form(token="t", userID="u", platformID="5", operationID="o", sdkType="js"), {})
    assert (args.platform_id, args.is_msg_resp, args.is_background) == (5, False, False)
    assert refusal("/?v=%%%") == (1602, "v is not base64url JSON")
    assert refusal(v_form(token="t", userID="u", platformID=True, operationID="o")) == (1602, "platformID is not int")
    assert refusal(v_form(token="t", userID="u", platformID=5, operationID="o", sdkType="js", userIDx=1)[:-2]) == (
        1602,
        "v is not base64url JSON",
    )
    assert refusal(v_form(token=7, userID="u", platformID=5, operationID="o")) == (1602, "token is not a string")
    go = parse_conn_args(v_form(token="t", userID="u", platformID=5, operationID="o", compression="gzip"), {})
    assert go.codec is GOB_GZIP
    assert refusal(v_form(token="t", userID="u", platformID=5, operationID="o", sdkType="c")) == (
        1602,
        "sdkType is invalid",
    )


# -- claims -------------------------------------------------------------------------------------------------


def test_claims_must_match_user_and_platform() -> None:
    args = parse_conn_args(query(), {})
    check_claims(args, "u1", 5)
    with pytest.raises(HandshakeRefused) as info:
        check_claims(args, "u2", 5)
    assert (info.value.code, info.value.detail) == (ErrCode.TOKEN_INVALID, "token uid u2 != userID u1")
    with pytest.raises(HandshakeRefused) as info:
        check_claims(args, "u1", 2)
    assert (info.value.code, info.value.detail) == (ErrCode.TOKEN_INVALID, "token platform 2 != platformID 5")
