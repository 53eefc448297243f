"""The per-connection frame codec: JSON or gob, each optionally gzip, in both directions."""

from __future__ import annotations

import gzip as stdlib_gzip
from pathlib import Path

import pytest

from openim.wire import envelope
from openim.wire.codec import GOB, GOB_GZIP, JSON, JSON_GZIP, FrameCodec, codec_for, gunzip, gzip
from openim.wire.envelope import EnvelopeError, WsRequest, WsResponse

GOLDEN = {
    name: bytes.fromhex(hexed)
    for name, hexed in (
        line.split() for line in (Path(__file__).parent / "gob_golden" / "golden.txt").read_text().splitlines() if line
    )
}
ALL = (JSON, JSON_GZIP, GOB, GOB_GZIP)


@pytest.mark.parametrize(
    ("sdk_type", "compression", "codec"),
    [("js", "", JSON), ("js", "gzip", JSON_GZIP), ("", "", GOB), ("go", "", GOB), ("", "gzip", GOB_GZIP),
     ("go", "gzip", GOB_GZIP), ("go", "deflate", GOB)],
)
def test_codec_for_follows_openim(sdk_type: str, compression: str, codec: FrameCodec) -> None:
    assert codec_for(sdk_type, compression) is codec


@pytest.mark.parametrize("codec", ALL, ids=lambda c: c.name)
def test_handshake_params_choose_the_codec_again(codec: FrameCodec) -> None:
    params = codec.handshake_params
    assert codec_for(params.get("sdkType", ""), params.get("compression", "")) is codec


def test_codec_for_unknown_sdk_type() -> None:
    with pytest.raises(ValueError):
        codec_for("rust")


@pytest.mark.parametrize("codec", ALL, ids=lambda c: c.name)
def test_request_round_trip(codec: FrameCodec) -> None:
    frame = codec.encode_request(1003, "u1_7", "u1", "op-1", b"\x0a\x02hi")
    assert codec.decode_request(frame) == WsRequest(1003, "u1_7", "u1", "op-1", b"\x0a\x02hi")


@pytest.mark.parametrize("codec", ALL, ids=lambda c: c.name)
def test_response_round_trip(codec: FrameCodec) -> None:
    frame = codec.encode_response(1001, "m", "op", 1001, "ArgsError", None)
    assert codec.decode_response(frame) == WsResponse(1001, "m", "op", 1001, "ArgsError", None)
    ok = codec.decode_response(codec.encode_response(1002, "m2", "op2", 0, "", b"\x08\x01"))
    assert (ok.req_identifier, ok.err_code, ok.data) == (1002, 0, b"\x08\x01")


def test_json_codec_is_the_envelope_unchanged() -> None:
    assert JSON.encode_response(1003, "m", "op", 0, "", b"x") == envelope.encode_response(1003, "m", "op", 0, "", b"x")
    assert JSON.kick_frame == envelope.KICK_FRAME
    push = envelope.encode_push(b"\x01\x02", "op")
    assert JSON.from_json_frame(push) is push


def test_gzip_codecs_compress_the_whole_frame() -> None:
    frame = GOB_GZIP.encode_response(2001, "", "op", 0, "", b"abc")
    assert stdlib_gzip.decompress(frame) == GOB.encode_response(2001, "", "op", 0, "", b"abc")
    assert stdlib_gzip.decompress(JSON_GZIP.kick_frame) == envelope.KICK_FRAME


def test_decodes_a_go_gzip_frame() -> None:
    req = GOB_GZIP.decode_request(GOLDEN["req_full_gzip"])
    assert req == WsRequest(1003, "u1_1", "u1", "op-1", b"\x0a\x02hi")


def test_push_is_transcoded_from_json() -> None:
    push = envelope.encode_push(b"\x0a\x03abc", "op-9")
    for codec in (GOB, GOB_GZIP, JSON_GZIP):
        resp = codec.decode_response(codec.from_json_frame(push))
        assert resp == WsResponse(2001, "", "op-9", 0, "", b"\x0a\x03abc")
    assert GOB.from_json_frame(push) == GOB.encode_response(2001, "", "op-9", 0, "", b"\x0a\x03abc")


def test_kick_frames() -> None:
    assert GOB.decode_response(GOB.kick_frame) == WsResponse(2002, "", "", 0, "", None)
    assert GOB_GZIP.decode_response(GOB_GZIP.kick_frame).req_identifier == 2002


@pytest.mark.parametrize(
    ("codec", "frame", "message"),
    [
        (GOB, b"{}", "gob:"),
        (GOB, GOLDEN["req_full"][:20], "gob:"),
        (GOB_GZIP, GOLDEN["req_full"], "gzip:"),  # not compressed
        (GOB_GZIP, GOLDEN["req_full_gzip"][:-4], "gzip: truncated"),
        (GOB_GZIP, GOLDEN["req_full_gzip"] + b"x", "gzip: bytes after"),
        (GOB_GZIP, gzip(b"\x00" * (2 << 20)), "inflates past"),
        (JSON_GZIP, gzip(b"[1]"), "envelope must be a JSON object"),
        (JSON, GOLDEN["req_full"], "invalid JSON"),
    ],
)
def test_malformed_requests_raise_envelope_error(codec: FrameCodec, frame: bytes, message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        codec.decode_request(frame)


def test_gunzip_limit_is_exact() -> None:
    assert gunzip(gzip(b"a" * 100), 100) == b"a" * 100
    with pytest.raises(EnvelopeError):
        gunzip(gzip(b"a" * 101), 100)
