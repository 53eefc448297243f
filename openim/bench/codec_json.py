"""The JS SDK's wire format for the load engine: JSON envelopes with base64 protobuf, ``sdkType=js``.

Sends are built from a template per sender: the MsgData protobuf is written field by field in field
number order (what a protobuf serializer writes), with everything but the clientMsgID, the peer and
the createTime fixed for the run, then base64 and the JSON envelope by one bytes ``%`` format each.
:meth:`JsonEnvelopeCodec.verify_send` decodes such a send with the server's own codec
(:func:`openim.wire.envelope.decode_request`, ``sdkws_pb2.MsgData``) and checks every field.

Identity in the bytes:

- clientMsgID = ``bench`` + 16 hex digits of the key + 16 hex digits of the send time (37 bytes), so
  a recipient reads both from the pushed MsgData with one ``find`` of ``0x22 0x25 "bench"`` (field 4,
  length 37) and two ``int(..., 16)``;
- operationID = ``b`` + 16 hex digits of the key: the echo (a 2001 push carrying the request's
  operationID back to the sender) is recognised from the envelope alone;
- msgIncr = the sender's sequence number.

Server frames are recognised by their fixed prefix (the Go server's key order, which ours keeps:
``{"reqIdentifier":1003,"msgIncr":"...`` and ``{"reqIdentifier":2001,"msgIncr":"","operationID":"...``),
a reply's ``"errCode":0,``, and for a push the nesting of its PushMessages checked by hand (one
conversation, one message, nothing else) before the clientMsgID and the recipient (field 2, or the
group in field 3) are found by ``bytes.find``. A frame of any other shape is decoded in full by
:meth:`JsonEnvelopeCodec.decode_full`, which is also what :meth:`verify` compares the scan with.
"""

from __future__ import annotations

import binascii
import json
import time
from json.encoder import encode_basestring_ascii
from typing import Final

from google.protobuf.message import DecodeError

from openim.bench.codec import ACK, ECHO, IGNORE, MSG, MSGS, OTHER, CodecSetup, Scan
from openim.bench.stats import KEY_SEQ_BITS
from openim.wire.constants import ContentType, MsgFrom, ReqIdentifier, SessionType
from openim.wire.envelope import (
    HANDSHAKE_OK_TEXT,
    EnvelopeError,
    WsRequest,
    WsResponse,
    decode_request,
    decode_response,
)
from openim.wire.pb import msg_pb2, sdkws_pb2

__all__ = ["JsonEnvelopeCodec", "JsonReceiver", "JsonSender", "check_payload", "parse_client_msg_id"]

CMID_PREFIX: Final = "bench"
_CMID_LEN: Final = len(CMID_PREFIX) + 32
_CMID_MARK: Final = b"\x22" + bytes((_CMID_LEN,)) + CMID_PREFIX.encode()  # field 4, length 37, "bench"
_SEQ_MASK: Final = (1 << KEY_SEQ_BITS) - 1

_ACK_HEAD: Final = b'{"reqIdentifier":%d,"msgIncr":"' % int(ReqIdentifier.SEND_MSG)
_PUSH_HEAD: Final = b'{"reqIdentifier":%d,"msgIncr":"","operationID":"' % int(ReqIdentifier.PUSH_MSG)
_PH: Final = len(_PUSH_HEAD)
_AH: Final = len(_ACK_HEAD)
_CM: Final = len(_CMID_MARK)
_ERR_KEY: Final = b'"errCode":'
_DATA_KEY: Final = b',"data":"'
_SEND_FMT: Final = (
    b'{"reqIdentifier":%d,"msgIncr":"%%d","sendID":%%s,"operationID":"b%%016x","data":"%%s"}'
    % int(ReqIdentifier.SEND_MSG)
)
_PING: Final = b'{"type":"ping"}'


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _string_field(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def parse_client_msg_id(cmid: str) -> tuple[int, int] | None:
    """(key, send ns) of a bench clientMsgID, None for any other."""
    if len(cmid) != _CMID_LEN or not cmid.startswith(CMID_PREFIX):
        return None
    try:
        return int(cmid[5:21], 16), int(cmid[21:37], 16)
    except ValueError:
        return None


class JsonSender:
    """What one connection's sends share: its key space, its sendID in protobuf and in JSON."""

    __slots__ = ("head", "index", "key_base", "send_id_json", "user_id")

    def __init__(self, index: int, user_id: str) -> None:
        self.index = index
        self.user_id = user_id
        self.key_base = index << KEY_SEQ_BITS
        self.head = _string_field(1, user_id.encode())  # MsgData.sendID
        self.send_id_json = encode_basestring_ascii(user_id).encode("ascii")


class JsonReceiver:
    """Who "me" is for the scan: my index (echo check) and my recipient field's bytes."""

    __slots__ = ("index", "key_base", "mark", "user_id")

    def __init__(self, index: int, user_id: str, mark: bytes) -> None:
        self.index = index
        self.user_id = user_id
        self.key_base = index << KEY_SEQ_BITS
        self.mark = mark  # MsgData.recvID == me (direct), or MsgData.groupID == the group (group)


class JsonEnvelopeCodec:
    """The :class:`openim.bench.codec.LoadCodec` of the JS SDK (JSON envelope, base64 protobuf)."""

    name = "js"
    send_opcode = 2

    def __init__(self, setup: CodecSetup) -> None:
        self._setup = setup
        self._group = setup.workload == "group"
        self._group_id = setup.group_id
        self._content = ('{"content":"' + "x" * max(0, setup.content_size) + '"}').encode()
        self._session_type = int(SessionType.READ_GROUP if self._group else SessionType.SINGLE)
        if self._group:
            self._peer_fields = [_string_field(3, setup.group_id.encode())]
        else:
            self._peer_fields = [_string_field(2, uid.encode()) for uid in setup.all_user_ids]
        # Fields 6, 9, 10, 11, 12 (fixed for the run), then the tag of field 16 (createTime, varint).
        self._mid = (
            _int_field(6, setup.platform_id)
            + _int_field(9, self._session_type)
            + _int_field(10, int(MsgFrom.USER))
            + _int_field(11, int(ContentType.TEXT))
            + _string_field(12, self._content)
            + _varint(16 << 3)
        )
        self._wall_offset_ns = time.time_ns() - time.monotonic_ns()
        self._ms = -1
        self._ms_bytes = b""

    # -- login and heartbeat ---------------------------------------------------------------------
    def login_target(self, user_id: str, token: str, operation_id: str) -> str:
        """The request target the JS SDK opens: fixed key order, values not URL-encoded."""
        return (
            f"/?sendID={user_id}&token={token}&platformID={self._setup.platform_id}&operationID={operation_id}"
            "&isBackground=false&isMsgResp=true&sdkType=js"
        )

    def handshake_result(self, opcode: int, payload: bytes) -> str | None:
        if opcode != 1:
            return f"expected the handshake text, got a frame of opcode {opcode}"
        text = payload.decode("utf-8", errors="replace")
        if text == HANDSHAKE_OK_TEXT:
            return None
        try:
            code = json.loads(text).get("errCode")
        except (ValueError, AttributeError):
            code = None
        return None if code == 0 else f"handshake refused: {text[:200]}"

    def heartbeat(self) -> tuple[int, bytes] | None:
        return 1, _PING

    # -- per connection ----------------------------------------------------------------------------
    def sender(self, index: int, user_id: str) -> JsonSender:
        return JsonSender(index, user_id)

    def receiver(self, index: int, user_id: str) -> JsonReceiver:
        mark = _string_field(3, self._group_id.encode()) if self._group else _string_field(2, user_id.encode())
        return JsonReceiver(index, user_id, mark)

    # -- sending -----------------------------------------------------------------------------------
    def build_send(self, sender: JsonSender, seq: int, peer: int, now_ns: int) -> bytes:
        key = sender.key_base | (seq & _SEQ_MASK)
        return _SEND_FMT % (
            seq, sender.send_id_json, key, binascii.b2a_base64(self.message(sender, key, peer, now_ns), newline=False)
        )

    def message(self, sender: JsonSender, key: int, peer: int, now_ns: int) -> bytes:
        """The MsgData protobuf of one send (what every SDK's envelope carries as its data)."""
        ms = (now_ns + self._wall_offset_ns) // 1_000_000
        if ms != self._ms:
            self._ms = ms
            self._ms_bytes = _varint(ms)
        return b"%s%s%s%016x%016x%s%s" % (
            sender.head, self._peer_fields[peer], _CMID_MARK, key, now_ns, self._mid, self._ms_bytes
        )

    def decode_send(self, payload: bytes) -> WsRequest:
        """A built send read back by the gateway's own decoder (EnvelopeError when it is not one)."""
        return decode_request(payload)

    def verify_send(self, payload: bytes, sender: JsonSender, seq: int, peer: int, now_ns: int) -> str | None:
        try:
            req = self.decode_send(payload)
            msg = sdkws_pb2.MsgData.FromString(req.data)
        except (EnvelopeError, ValueError, DecodeError) as exc:
            return f"a built send does not decode: {exc}"
        key = sender.key_base | (seq & _SEQ_MASK)
        want_peer = ("", self._group_id) if self._group else (self._setup.all_user_ids[peer], "")
        got = {
            "reqIdentifier": (req.req_identifier, int(ReqIdentifier.SEND_MSG)),
            "msgIncr": (req.msg_incr, str(seq)),
            "sendID": (req.send_id, sender.user_id),
            "operationID": (req.operation_id, f"b{key:016x}"),
            "MsgData.sendID": (msg.sendID, sender.user_id),
            "MsgData.recvID/groupID": ((msg.recvID, msg.groupID), want_peer),
            "MsgData.clientMsgID": (parse_client_msg_id(msg.clientMsgID), (key, now_ns)),
            "MsgData.senderPlatformID": (msg.senderPlatformID, self._setup.platform_id),
            "MsgData.sessionType": (msg.sessionType, self._session_type),
            "MsgData.msgFrom": (msg.msgFrom, int(MsgFrom.USER)),
            "MsgData.contentType": (msg.contentType, int(ContentType.TEXT)),
            "MsgData.content": (msg.content, self._content),
        }
        bad = [f"{k} is {g!r}, want {w!r}" for k, (g, w) in got.items() if g != w]
        wall_ms = (now_ns + self._wall_offset_ns) // 1_000_000
        if abs(msg.createTime - wall_ms) > 1:
            bad.append(f"MsgData.createTime is {msg.createTime}, want {wall_ms}")
        if msg.SerializeToString() != req.data:
            bad.append("MsgData is not in canonical field order")
        return "; ".join(bad) or None

    # -- receiving ---------------------------------------------------------------------------------
    def scan(self, opcode: int, payload: bytes, receiver: JsonReceiver) -> Scan:
        if opcode != 2:
            return (IGNORE,)  # text: the pong of a heartbeat
        if payload.startswith(_PUSH_HEAD):
            if payload[_PH + 17 : _PH + 18] == b'"' and payload[_PH : _PH + 1] == b"b":  # "b" + 16 hex: ours
                try:
                    key = int(payload[_PH + 1 : _PH + 17], 16)
                except ValueError:
                    return self.decode_full(opcode, payload, receiver)
                if key >> KEY_SEQ_BITS == receiver.index:
                    return (ECHO, key)
            d = payload.find(_DATA_KEY, _PH)
            if d < 0 or not payload.endswith(b'"}'):
                return self.decode_full(opcode, payload, receiver)
            try:
                raw = binascii.a2b_base64(payload[d + 9 : -2])
            except binascii.Error:
                return self.decode_full(opcode, payload, receiver)
            m = _single_message_at(raw)
            if m < 0:
                return self.decode_full(opcode, payload, receiver)
            p = raw.find(_CMID_MARK, m)
            if p < 0 or raw.find(_CMID_MARK, p + _CMID_LEN) >= 0:
                return self.decode_full(opcode, payload, receiver)
            try:
                key = int(raw[p + _CM : p + _CM + 16], 16)
                sent_ns = int(raw[p + _CM + 16 : p + _CM + 32], 16)
            except ValueError:
                return self.decode_full(opcode, payload, receiver)
            return (MSG, key, sent_ns, raw.find(receiver.mark, m) >= 0)
        if payload.startswith(_ACK_HEAD):
            j = payload.find(b'"', _AH)
            k = payload.find(_ERR_KEY, j)
            if k > 0 and payload[k + 10 : k + 12] == b"0,":  # errCode 0
                try:
                    return (ACK, int(payload[_AH:j]), 0, "")
                except ValueError:
                    pass
        return self.decode_full(opcode, payload, receiver)

    def decode_full(self, opcode: int, payload: bytes, receiver: JsonReceiver) -> Scan:
        """The reference classification: the server's envelope codec and the protobuf classes."""
        if opcode != 2:
            return (IGNORE,)
        try:
            resp = decode_response(payload)
        except EnvelopeError:
            return (OTHER,)
        return self.classify(resp, receiver)

    def classify(self, resp: WsResponse, receiver: JsonReceiver) -> Scan:
        """A decoded server frame as a :data:`~openim.bench.codec.Scan` (shared by every envelope)."""
        if resp.req_identifier == ReqIdentifier.SEND_MSG:
            try:
                return (ACK, int(resp.msg_incr), resp.err_code, resp.err_msg)
            except ValueError:
                return (OTHER,)
        if resp.req_identifier != ReqIdentifier.PUSH_MSG:
            return (OTHER,)
        op = resp.operation_id
        if len(op) == 17 and op.startswith("b"):
            try:
                key = int(op[1:], 16)
            except ValueError:
                key = -1
            if key >= 0 and key >> KEY_SEQ_BITS == receiver.index:
                return (ECHO, key)
        if not resp.data:
            return (OTHER,)
        try:
            push = sdkws_pb2.PushMessages.FromString(resp.data)
        except (ValueError, DecodeError):  # protobuf's DecodeError is not a ValueError
            return (OTHER,)
        entries: list[tuple[int, int, bool]] = []
        others = sum(len(p.Msgs) for p in push.notificationMsgs.values())
        for pulled in push.msgs.values():
            for msg in pulled.Msgs:
                parsed = parse_client_msg_id(msg.clientMsgID)
                if parsed is None:
                    others += 1
                    continue
                to_me = msg.groupID == self._group_id if self._group else msg.recvID == receiver.user_id
                entries.append((parsed[0], parsed[1], to_me))
        if len(entries) == 1 and not others:
            return (MSG, *entries[0])
        if not entries:
            return (OTHER,)
        return (MSGS, tuple(entries), others)

    def verify(self, opcode: int, payload: bytes, receiver: JsonReceiver, scanned: Scan) -> str | None:
        full = self.decode_full(opcode, payload, receiver)
        if full != scanned:
            return f"byte scan {scanned!r} != full decode {full!r} of {payload[:160]!r}"
        if full[0] in (ACK, ECHO):
            return check_payload(full, decode_response(payload), receiver)
        return None


def check_payload(full: Scan, resp: WsResponse, receiver: JsonReceiver) -> str | None:
    """The data of a reply (its SendMsgResp names the send's clientMsgID) or an echo (one message,
    this user's, the key of the operationID): what :meth:`JsonEnvelopeCodec.verify` checks beyond the scan."""
    kind = full[0]
    if kind == ACK and full[2] == 0:
        try:
            cmid = msg_pb2.SendMsgResp.FromString(resp.data or b"").clientMsgID
        except DecodeError as exc:
            return f"reply data does not decode: {exc}"
        parsed = parse_client_msg_id(cmid)
        if parsed is None or parsed[0] != receiver.key_base | (full[1] & _SEQ_MASK):
            return f"reply to msgIncr {full[1]} names clientMsgID {cmid!r}"
    elif kind == ECHO:
        try:
            push = sdkws_pb2.PushMessages.FromString(resp.data or b"")
        except DecodeError as exc:
            return f"echo data does not decode: {exc}"
        msgs = [m for p in push.msgs.values() for m in p.Msgs]
        if len(msgs) != 1 or msgs[0].sendID != receiver.user_id:
            return f"echo {full[1]:x} carries {len(msgs)} messages, not this user's one"
        parsed = parse_client_msg_id(msgs[0].clientMsgID)
        if parsed is None or parsed[0] != full[1]:
            return f"echo {full[1]:x} carries clientMsgID {msgs[0].clientMsgID!r}"
    return None


def _single_message_at(raw: bytes) -> int:
    """Where the one MsgData of a PushMessages starts, or -1 unless it is exactly one conversation
    (field 1) holding a PullMsgs of exactly one message and nothing else."""
    end = len(raw)
    if end < 8 or raw[0] != 0x0A:
        return -1
    try:
        return _single_message(raw, end)
    except IndexError:  # a length that points past the end
        return -1


def _single_message(raw: bytes, end: int) -> int:
    n, i = _read_len(raw, 1)
    if i + n != end or raw[i] != 0x0A:  # one map entry, no other field; the entry starts with its key
        return -1
    n, i = _read_len(raw, i + 1)
    i += n
    if i >= end or raw[i] != 0x12:  # the entry's value: PullMsgs
        return -1
    n, i = _read_len(raw, i + 1)
    if i + n != end or i >= end or raw[i] != 0x0A:  # PullMsgs ends the frame; its first field is Msgs
        return -1
    n, i = _read_len(raw, i + 1)
    return i if i + n == end else -1  # exactly one MsgData, no isEnd / endSeq


def _read_len(raw: bytes, i: int) -> tuple[int, int]:
    """A length varint of up to 3 bytes at ``i`` (2 MiB; frames are far smaller): (value, next index)."""
    b = raw[i]
    if b < 0x80:
        return b, i + 1
    c = raw[i + 1]
    if c < 0x80:
        return (b & 0x7F) | c << 7, i + 2
    return (b & 0x7F) | (c & 0x7F) << 7 | raw[i + 2] << 14, i + 3
