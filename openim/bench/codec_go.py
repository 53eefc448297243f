"""The Go SDK's wire format for the load engine: gzip-compressed gob frames, no ``sdkType``.

openim-sdk-core (the Go core of the Android/iOS/Flutter/Electron SDKs and of the wasm SDK) logs in
without ``sdkType`` and with ``compression=gzip&isMsgResp=true``, so the gateway picks the gob codec
with gzip in both directions (:data:`openim.wire.codec.GOB_GZIP`): a send is
gzip(gob(GeneralWsReq)) in one binary frame, every reply and push gzip(gob(Resp)). The handshake
result is the same JSON text frame as for the JS SDK, and the heartbeat is the wasm core's JSON text
ping (the bench logs in as platform 5, web, which is the wasm core; the gateway answers it with the
text pong, which the scan ignores).

Message identity is the JS codec's (the same MsgData bytes, clientMsgID, operationID and msgIncr:
:meth:`JsonEnvelopeCodec.message`), only the envelope differs. There is no byte scan: a gzip frame
must be inflated before anything in it can be read, so :meth:`GoGobCodec.scan` is the full decode
(the server's own :meth:`FrameCodec.decode_response`, then the protobuf classes), and
:meth:`GoGobCodec.verify` repeats it and checks a reply's or an echo's data. The point of ``--sdk go``
is the server's cost of the gob + gzip codec; the bench's own cost per frame is higher than with
``--sdk js``, so give it more ``--procs`` before reading a saturation figure.
"""

from __future__ import annotations

from typing import Final

from openim.bench.codec import ACK, ECHO, IGNORE, OTHER, CodecSetup, Scan
from openim.bench.codec_json import JsonEnvelopeCodec, JsonReceiver, JsonSender, check_payload
from openim.bench.stats import KEY_SEQ_BITS
from openim.wire.codec import GOB_GZIP
from openim.wire.constants import ReqIdentifier
from openim.wire.envelope import EnvelopeError, WsRequest

__all__ = ["GoGobCodec"]

_SEQ_MASK: Final = (1 << KEY_SEQ_BITS) - 1
_SEND_MSG: Final = int(ReqIdentifier.SEND_MSG)


class GoGobCodec(JsonEnvelopeCodec):
    """The :class:`openim.bench.codec.LoadCodec` of the Go SDK (gob + gzip binary frames)."""

    name = "go"
    send_opcode = 2

    def __init__(self, setup: CodecSetup) -> None:
        super().__init__(setup)
        self._frames = GOB_GZIP

    def login_target(self, user_id: str, token: str, operation_id: str) -> str:
        """The request target the Go core opens: no sdkType, gzip asked for, replies wanted."""
        return (
            f"/?sendID={user_id}&token={token}&platformID={self._setup.platform_id}&operationID={operation_id}"
            "&isBackground=false&compression=gzip&isMsgResp=true"
        )

    def build_send(self, sender: JsonSender, seq: int, peer: int, now_ns: int) -> bytes:
        key = sender.key_base | (seq & _SEQ_MASK)
        return self._frames.encode_request(
            _SEND_MSG, str(seq), sender.user_id, f"b{key:016x}", self.message(sender, key, peer, now_ns)
        )

    def decode_send(self, payload: bytes) -> WsRequest:
        return self._frames.decode_request(payload)

    def scan(self, opcode: int, payload: bytes, receiver: JsonReceiver) -> Scan:
        return self.decode_full(opcode, payload, receiver)

    def decode_full(self, opcode: int, payload: bytes, receiver: JsonReceiver) -> Scan:
        """The server's gob + gzip decoder, then the protobuf classes."""
        if opcode != 2:
            return (IGNORE,)  # text: the pong of a heartbeat
        try:
            resp = self._frames.decode_response(payload)
        except EnvelopeError:
            return (OTHER,)
        return self.classify(resp, receiver)

    def verify(self, opcode: int, payload: bytes, receiver: JsonReceiver, scanned: Scan) -> str | None:
        full = self.decode_full(opcode, payload, receiver)
        if full != scanned:
            return f"scan {scanned!r} != full decode {full!r}"
        if full[0] in (ACK, ECHO):
            return check_payload(full, self._frames.decode_response(payload), receiver)
        return None
