"""The ?key= of after-message callbacks: OpenIM's encoding, byte for byte."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from openim.webhooks.keys import message_key, message_key_query


def test_the_key_is_base64_of_the_go_json_of_the_conversation() -> None:
    key = message_key("alice", "bob", "")
    assert base64.b64decode(key) == b'{"sendID":"alice","recvID":"bob","groupID":""}'


def test_the_query_escapes_what_base64_may_hold() -> None:
    body = {"sendID": "u>>>?", "groupID": "g1", "content": "x"}  # recvID absent: ""
    query = message_key_query(body)
    assert query.startswith("?key=") and "+" not in query and "/" not in query and "=" not in query[5:]
    (key,) = parse_qs(query[1:])["key"]
    assert base64.b64decode(key) == b'{"sendID":"u>>>?","recvID":"","groupID":"g1"}'
