"""encoding/gob for the Go clients' envelope, pinned to bytes real Go produced (gob_golden/)."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from openim.wire.codec import GO_REQUEST, GO_RESPONSE, gunzip
from openim.wire.gob import BYTES, INT, STRING, GobError, GobStruct, decode_struct, encode_int, encode_uint

GOLDEN = {
    name: bytes.fromhex(hexed)
    for name, hexed in (
        line.split() for line in (Path(__file__).parent / "gob_golden" / "golden.txt").read_text().splitlines() if line
    )
}
REQ = dict(GO_REQUEST.fields)
RESP = dict(GO_RESPONSE.fields)


# -- primitives (the examples of the encoding/gob documentation) ----------------------------------


@pytest.mark.parametrize(
    ("n", "encoded"),
    [(0, "00"), (7, "07"), (127, "7f"), (128, "ff80"), (256, "fe0100"), (2**64 - 1, "f8ffffffffffffffff")],
)
def test_uint(n: int, encoded: str) -> None:
    assert encode_uint(n).hex() == encoded


@pytest.mark.parametrize(
    ("i", "encoded"), [(0, "00"), (-1, "01"), (1, "02"), (-129, "fe0101"), (65, "ff82"), (-65, "ff81")]
)
def test_int(i: int, encoded: str) -> None:
    assert encode_int(i).hex() == encoded


# -- golden frames from Go ---------------------------------------------------------------------


# The golden frames were written by Go 1.19, whose first user type id is 65; current Go (and so the wasm
# SDK core, and our encoder by default) starts at 64. Same bytes otherwise.
GO119_REQUEST = GobStruct(GO_REQUEST.name, GO_REQUEST.fields, type_id=65)
GO119_RESPONSE = GobStruct(GO_RESPONSE.name, GO_RESPONSE.fields, type_id=65)


def test_request_encoding_matches_go_byte_for_byte() -> None:
    cases = {
        "req_full": (1003, "tok", "u1", "op-1", "u1_1", b"\x0a\x02hi"),
        "req_zero": (0, "", "", "", "", b""),
        "req_partial": (1001, "", "u1", "op", "m", b""),
        "req_big": (1003, "", "用户", "op", "m", b"\x07" * 300),
        "req_negative": (-129, "", "u", "", "", b""),
    }
    for name, values in cases.items():
        assert GO119_REQUEST.encode(values) == GOLDEN[name], name


def test_response_encoding_matches_go_byte_for_byte() -> None:
    cases = {
        "resp65_full": (1003, "u1_1", "op-1", 0, "", b"\x0a\x01x"),
        "resp65_error": (1001, "m", "op", 1001, "ArgsError", b""),
        "resp65_push": (2001, "", "op", 0, "", b"\x01\x02\x03"),
        "resp65_kick": (2002, "", "", 0, "", b""),
    }
    for name, values in cases.items():
        assert GO119_RESPONSE.encode(values) == GOLDEN[name], name


def test_our_encoder_reproduces_the_wasm_core_frame() -> None:
    # Current Go (the wasm core's): the struct is type 64; our default.
    raw = gunzip(GOLDEN["wasm_core_req_gzip"])
    values = decode_struct(raw, REQ)
    assert values["ReqIdentifier"] == 1001 and "Token" not in values
    zero: dict[int, int | str | bytes] = {INT: 0, STRING: "", BYTES: b""}
    ordered = tuple(values.get(name, zero[tid]) for name, tid in GO_REQUEST.fields)
    assert GO_REQUEST.type_id == 64
    assert GO_REQUEST.encode(ordered) == raw


def test_decodes_go_requests() -> None:
    assert decode_struct(GOLDEN["req_full"], REQ) == {
        "ReqIdentifier": 1003, "Token": "tok", "SendID": "u1", "OperationID": "op-1", "MsgIncr": "u1_1",
        "Data": b"\x0a\x02hi",
    }
    assert decode_struct(GOLDEN["req_zero"], REQ) == {}  # every field zero: nothing sent
    assert decode_struct(GOLDEN["req_partial"], REQ) == {
        "ReqIdentifier": 1001, "SendID": "u1", "OperationID": "op", "MsgIncr": "m"
    }
    big = decode_struct(GOLDEN["req_big"], REQ)
    assert big["SendID"] == "用户" and big["Data"] == b"\x07" * 300
    assert decode_struct(GOLDEN["req_negative"], REQ) == {"ReqIdentifier": -129, "SendID": "u"}


def test_decodes_go_responses_whatever_their_type_id() -> None:
    # resp_* were written as Go's type 66 (a second type in the process), resp65_* as type 65.
    for prefix in ("resp_", "resp65_"):
        assert decode_struct(GOLDEN[prefix + "error"], RESP) == {
            "ReqIdentifier": 1001, "MsgIncr": "m", "OperationID": "op", "ErrCode": 1001, "ErrMsg": "ArgsError"
        }
        assert decode_struct(GOLDEN[prefix + "kick"], RESP) == {"ReqIdentifier": 2002}
        assert decode_struct(GOLDEN[prefix + "push"], RESP)["Data"] == b"\x01\x02\x03"


def test_fields_match_by_name_not_position() -> None:
    # The SDK declares the response with ErrCode second; the gateway with MsgIncr second.
    sdk_order = GobStruct(
        "GeneralWsResp",
        (("ReqIdentifier", INT), ("ErrCode", INT), ("ErrMsg", STRING), ("MsgIncr", STRING),
         ("OperationID", STRING), ("Data", BYTES)),
    )
    stream = sdk_order.encode((1003, 5, "e", "m", "op", b"d"))
    assert decode_struct(stream, RESP) == {
        "ReqIdentifier": 1003, "ErrCode": 5, "ErrMsg": "e", "MsgIncr": "m", "OperationID": "op", "Data": b"d"
    }


def test_unknown_fields_are_skipped() -> None:
    extended = GobStruct(
        "Req2",
        (("Extra", STRING), ("ReqIdentifier", INT), ("Flag", 1), ("Count", 3), ("SendID", STRING), ("Blob", BYTES)),
    )
    stream = extended.encode(("x", 1001, 1, 99, "u", b"zz"))
    assert decode_struct(stream, REQ) == {"ReqIdentifier": 1001, "SendID": "u"}


# -- malformed input: always GobError, never anything else ------------------------------------------


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"", "ended before a value"),
        (b"\x00", "message length 0"),
        (b"\x05\xff", "does not fit"),
        (GOLDEN["req_full"][:-1], "does not fit"),
        (GOLDEN["req_full"] + b"\x00", "extra bytes after the value message"),
        (b"\x02\x04\x00", "not a struct defined"),  # a bare int value
        (b"\x03\xff\x82\x00", "not a struct defined"),  # type 65 never defined
        (b"\x02\x80\x00", "unsigned integer of 128 bytes"),
    ],
)
def test_malformed_streams(stream: bytes, message: str) -> None:
    with pytest.raises(GobError, match=message):
        decode_struct(stream, REQ)


def test_type_mismatch_is_refused() -> None:
    wrong = GobStruct("GeneralWsReq", (("ReqIdentifier", STRING), ("SendID", STRING)))
    with pytest.raises(GobError, match="ReqIdentifier: type 6 where 2"):
        decode_struct(wrong.encode(("1003", "u")), REQ)


def test_int32_overflow_is_refused() -> None:
    with pytest.raises(GobError, match="overflows int32"):
        decode_struct(GO_REQUEST.encode((2**31, "", "u", "", "", b"")), REQ)


def test_invalid_utf8_is_refused() -> None:
    bad = GOLDEN["req_partial"].replace(b"\x02u1", b"\x02\xff\xfe")
    with pytest.raises(GobError, match="UTF-8"):
        decode_struct(bad, REQ)


def test_no_common_field_is_refused() -> None:
    other = GobStruct("Point", (("X", INT), ("Y", INT)))
    with pytest.raises(GobError, match="shares no field"):
        decode_struct(other.encode((1, 2)), REQ)


def test_random_corruption_never_escapes_as_another_exception() -> None:
    rng = random.Random(13)
    frames = list(GOLDEN.values())
    for _ in range(3000):
        frame = bytearray(rng.choice(frames))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(3)
            pos = rng.randrange(len(frame))
            if op == 0:
                frame[pos] = rng.randrange(256)
            elif op == 1:
                del frame[pos:]
            else:
                frame.insert(pos, rng.randrange(256))
            if not frame:
                break
        with contextlib.suppress(GobError):
            decode_struct(bytes(frame), REQ)
