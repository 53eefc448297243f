"""Lone UTF-16 surrogates and NULs in client JSON are found (REST bodies, WebSocket envelopes); surrogate
pairs and an escaped backslash before "u0000" are not."""

from __future__ import annotations

import json

import pytest

from openim.wire.envelope import EnvelopeError, decode_request, encode_request
from openim.wire.jsontext import find_unstorable_text


def _check(text: str) -> str | None:
    return find_unstorable_text(json.loads(text), text.encode("utf-8", "surrogatepass"))


def test_finds_the_path_of_a_lone_surrogate() -> None:
    assert _check('{"a": [1, {"b": "x\\ud800"}]}') == "a[1].b"
    assert _check('{"a": {"\\udfff": 1}}') == "a.<key>"
    assert _check('"\\udc00"') == "body"
    # raw UTF-8 bytes of a surrogate (ED A0 80), which Python's parser lets through
    raw = '{"n": "\ud800"}'.encode("utf-8", "surrogatepass")
    assert find_unstorable_text(json.loads(raw), raw) == "n"


def test_finds_a_nul_which_postgresql_text_cannot_hold() -> None:
    assert _check('{"users": [{"userID": "a\\u0000b"}]}') == "users[0].userID"
    assert _check('{"\\u0000": 1}') == "<key>"
    assert _check('{"a": "\\u0000", "b": "\u00e9"}') == "a"  # with non-ASCII text around it too


def test_pairs_and_plain_text_pass() -> None:
    assert _check('{"a": "smile \\ud83d\\ude00", "b": "\\u00e9t\\u00e9"}') is None
    assert _check('{"a": "\\\\ud800"}') is None  # an escaped backslash: the text "\ud800", not a surrogate
    assert _check('{"a": "\\\\u0000"}') is None  # the text "\u0000", not a NUL
    # The walk is iterative: no RecursionError on any nesting the parser accepts.
    deep = "[" * 500 + '"\\ud800"' + "]" * 500
    assert find_unstorable_text(json.loads(deep), deep) == "[0]" * 500


@pytest.mark.parametrize("key", ["msgIncr", "operationID", "sendID"])
def test_the_envelope_refuses_a_lone_surrogate(key: str) -> None:
    frame = encode_request(1001, "1", "u1", "op", b"")
    obj = json.loads(frame)
    obj[key] = "a\ud800"
    with pytest.raises(EnvelopeError, match="surrogate"):
        decode_request(json.dumps(obj).encode())
    obj[key] = "a\x00"
    with pytest.raises(EnvelopeError, match="NUL"):
        decode_request(json.dumps(obj).encode())
    obj[key] = "a\U0001f600"
    assert decode_request(json.dumps(obj).encode()).req_identifier == 1001
