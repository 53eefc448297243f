"""Envelope edge cases: what a misbehaving or hostile client can send, and Unicode safety."""

from __future__ import annotations

import json

import pytest

from openim.wire import envelope as env
from openim.wire.errors import ErrCode

GOOD = {"reqIdentifier": 1003, "msgIncr": "m", "sendID": "u1", "operationID": "op", "data": "AAEC"}


def _frame(**changes: object) -> bytes:
    obj: dict[str, object] = dict(GOOD)
    for k, v in changes.items():
        if v is _MISSING:
            obj.pop(k)
        else:
            obj[k] = v
    return json.dumps(obj).encode()


_MISSING = object()


def test_good_request() -> None:
    assert env.decode_request(_frame()) == env.WsRequest(1003, "m", "u1", "op", b"\x00\x01\x02")


def test_str_frames_are_accepted_too() -> None:
    assert env.decode_request(_frame().decode()).req_identifier == 1003


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (b"not json", "invalid JSON"),
        (b"", "invalid JSON"),
        (b"\xff\xfe{", "invalid JSON"),
        (b"[1,2]", "JSON object"),
        (b'"x"', "JSON object"),
        (_frame(reqIdentifier="1003"), "reqIdentifier"),
        (_frame(reqIdentifier=True), "reqIdentifier"),
        (_frame(reqIdentifier=1003.0), "reqIdentifier"),
        (_frame(reqIdentifier=2**40), "reqIdentifier"),
        (_frame(msgIncr=5), "msgIncr"),
        (_frame(sendID=["u1"]), "sendID"),
        (_frame(operationID={}), "operationID"),
        (_frame(data=123), "data"),
        (_frame(data="AA-_"), "data"),  # URL-safe alphabet is not what the SDK sends
        (_frame(data="A"), "data"),  # impossible length
        (_frame(data="AA AA"), "data"),
        (_frame(data="=AAA"), "data"),
        (_frame(data="AA==AA=="), "data"),
        (_frame(data="€€€€"), "data"),
    ],
)
def test_bad_requests_raise_envelope_error(frame: bytes, fragment: str) -> None:
    with pytest.raises(env.EnvelopeError, match=fragment):
        env.decode_request(frame)


def test_envelope_error_is_a_value_error() -> None:
    assert issubclass(env.EnvelopeError, ValueError)


def test_deeply_nested_garbage_is_an_envelope_error_not_a_crash() -> None:
    with pytest.raises(env.EnvelopeError):
        env.decode_request(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("", b""),
        ("AAEC", b"\x00\x01\x02"),
        ("AAE=", b"\x00\x01"),
        ("AAE", b"\x00\x01"),  # missing padding tolerated
        ("AA==", b"\x00"),
        ("AA", b"\x00"),
        ("+/8=", b"\xfb\xff"),
    ],
)
def test_base64_tolerates_missing_padding(text: str, raw: bytes) -> None:
    assert env.decode_request(_frame(data=text)).data == raw


def test_missing_keys_take_zero_values() -> None:
    req = env.decode_request(b"{}")
    assert req == env.WsRequest(0, "", "", "", b"")
    assert env.decode_request(_frame(data=None)).data == b""
    assert env.decode_request(_frame(data=_MISSING)).data == b""


def test_unknown_keys_are_ignored() -> None:
    assert env.decode_request(_frame(token="t", extra=[1])).send_id == "u1"


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        'quo"te',
        "back\\slash",
        "new\nline\t\x00\x1f",
        "中文🙂",
        "\u2028\u2029",
        "\ud800lone",
        "</script>",
    ],
)
def test_response_strings_round_trip_any_unicode(text: str) -> None:
    frame = env.encode_response(1003, text, text, 1402, text, b"\x01")
    frame.decode("utf-8")  # always valid UTF-8, even with a lone surrogate inside
    obj = json.loads(frame)
    assert obj == {
        "reqIdentifier": 1003,
        "msgIncr": text,
        "operationID": text,
        "errCode": 1402,
        "errMsg": text,
        "data": "AQ==",
    }
    back = env.decode_response(frame)
    assert (back.msg_incr, back.operation_id, back.err_msg, back.data) == (text, text, text, b"\x01")
    assert env.decode_response(env.encode_push(b"\x02", text)).operation_id == text
    request = env.encode_request(1003, text, text, text, b"")
    if "\ud800" in text or "\x00" in text:  # refused: nothing behind the gateway could store it
        with pytest.raises(env.EnvelopeError, match="surrogate or a NUL"):
            env.decode_request(request)
    else:
        assert env.decode_request(request).operation_id == text


def test_response_key_order_and_null_vs_empty_data() -> None:
    err = env.encode_response(1003, "m", "op", ErrCode.MUTED_GROUP, ErrCode.MUTED_GROUP.err_msg)
    assert err == (
        b'{"reqIdentifier":1003,"msgIncr":"m","operationID":"op",'
        b'"errCode":1403,"errMsg":"MutedGroup","data":null}'
    )
    empty = env.encode_response(2003, "m", "op", data=b"")
    assert empty.endswith(b'"data":""}')
    assert env.decode_response(err).data is None
    assert env.decode_response(empty).data == b""


def test_request_encoding_matches_js_key_order() -> None:
    assert env.encode_request(1001, "a", "u", "o", b"\x00") == (
        b'{"reqIdentifier":1001,"msgIncr":"a","sendID":"u","operationID":"o","data":"AA=="}'
    )


def test_handshake_error_text() -> None:
    text = env.handshake_error_text(ErrCode.TOKEN_EXPIRED, 'token "x" expired')
    assert text == '{"errCode":1501,"errMsg":"TokenExpiredError","errDlt":"token \\"x\\" expired"}'
    assert json.loads(env.handshake_error_text(1602, "sendID is empty")) == {
        "errCode": 1602,
        "errMsg": "args err, need token, sendID, platformID",
        "errDlt": "sendID is empty",
    }
    assert json.loads(env.handshake_error_text(4242))["errMsg"] == ""


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"type":"ping"}', "ping"),
        ('{"type":"pong","body":null}', "pong"),
        (b'{"type":"ping","body":1}', "ping"),
    ],
)
def test_text_frames(text: str | bytes, kind: str) -> None:
    assert env.parse_text_frame(text) == kind


@pytest.mark.parametrize(
    "text", ['{"type":"PING"}', '{"type":"hello"}', "{}", '"ping"', "ping", '{"errCode":0}', "[]"]
)
def test_other_text_frames_are_rejected(text: str) -> None:
    with pytest.raises(env.EnvelopeError):
        env.parse_text_frame(text)


def test_ping_pong_constants_parse() -> None:
    assert env.parse_text_frame(env.PING_TEXT) == "ping"
    assert env.parse_text_frame(env.PONG_TEXT) == "pong"
