"""The ``?key=`` query OpenIM appends to the after-callbacks of a stored message.

Its value is base64 (standard alphabet, padded) of the JSON ``{"sendID": .., "recvID": .., "groupID": ..}``
of the message, in that order. A receiver that wants to answer in the same conversation (a bot) passes the
key back unchanged to ``/msg/send_simple_msg?key=...``: for a one-to-one message the answer goes from the
recipient to the sender, for a group message into the group.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode


def message_key(send_id: str, recv_id: str, group_id: str) -> str:
    doc = {"sendID": send_id, "recvID": recv_id, "groupID": group_id}
    return base64.b64encode(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()).decode("ascii")


def message_key_query(body: Mapping[str, Any]) -> str:
    """``?key=...`` for a callback body that carries a message's sendID and recvID or groupID."""
    key = message_key(str(body.get("sendID") or ""), str(body.get("recvID") or ""), str(body.get("groupID") or ""))
    return "?" + urlencode({"key": key})
