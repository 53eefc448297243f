"""The WebSocket fuzzer: hypothesis over the envelope and every client request type, on a real server.

Two kinds of frames, each sent over a logged-in connection (reconnecting whenever the server closed it):

- well-formed envelopes (the connection's own ``sendID``, a known ``reqIdentifier`` of 1001-1007 or
  2003-2005) whose ``data`` is that request's protobuf with drawn field values (IDs that exist and
  IDs that do not, edge-case numbers, odd text), the same bytes mutated, or random bytes. Such a
  request must be answered (the same ``msgIncr``), never with errCode 500, and the connection must stay
  open (except after 2003, the logout);
- garbage: frames that are not valid envelopes (bad JSON, wrong types, unknown identifiers, a foreign
  ``sendID``, lone surrogates, NULs, random bytes, text frames). The server may close the connection or
  answer, but a well-formed request sent right after on the same connection is answered in time, or
  the connection is closed: never a hang.

Always: the server process stays up, and its log holds no internal error (errCode 500 or a crashed
connection).
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fuzz_harness import EXAMPLES, SEED, Closed, FuzzServer, SyncWs
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from openim.wire.pb import msg_pb2, push_pb2, sdkws_pb2

REPLY_TIMEOUT_S = 10.0
_FD = FieldDescriptor

# The request type of each client request (1004, signalling, is refused whatever it carries).
REQUESTS: dict[int, type[Message]] = {
    1001: sdkws_pb2.GetMaxSeqReq,
    1002: sdkws_pb2.PullMessageBySeqsReq,
    1003: sdkws_pb2.MsgData,
    1004: sdkws_pb2.MsgData,
    1005: msg_pb2.GetSeqMessageReq,
    1006: msg_pb2.GetConversationsHasReadAndMaxSeqReq,
    1007: msg_pb2.GetLastMessageReq,
    2003: push_pb2.DelUserPushTokenReq,
    2004: sdkws_pb2.SetAppBackgroundStatusReq,
    2005: sdkws_pb2.SubUserOnlineStatus,
}
_INT_RANGES = {
    _FD.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    _FD.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    _FD.CPPTYPE_UINT32: (0, 2**32 - 1),
    _FD.CPPTYPE_UINT64: (0, 2**64 - 1),
    _FD.CPPTYPE_ENUM: (-(2**31), 2**31 - 1),
}
# Numbers the handlers branch on: zero, one, the edges, seqs and times, session and content types.
_EDGE_INTS = [0, 1, 2, 3, 4, -1, 5, 100, 101, 1201, 1501, 1510, 2**31 - 1, -(2**31), 2**53, 2**63 - 1]


class World:
    """The users and conversations the drawn requests talk about, and the fuzzing connection."""

    def __init__(self, server: FuzzServer) -> None:
        self.server = server
        suffix = f"{time.time_ns() % 10**8}"
        self.me, self.peer = f"fzme{suffix}", f"fzpeer{suffix}"
        admin = server.admin_token()
        server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in (self.me, self.peer)]},
                    token=admin)  # fmt: skip
        data = server.call("/group/create_group",
                           {"ownerUserID": self.me, "memberUserIDs": [self.peer],
                            "groupInfo": {"groupType": 2, "groupName": "fuzz"}}, token=admin)  # fmt: skip
        assert isinstance(data, dict)
        self.group = str(data["groupInfo"]["groupID"])
        lo, hi = sorted((self.me, self.peer))
        self.strings = [
            self.me, self.peer, self.group, "", "imAdmin", "nobody", f"si_{lo}_{hi}", f"sg_{self.group}",
            f"n_{lo}_{hi}", f"ng_{self.group}", f"si_{hi}_{lo}", "si_", "sg_", "x" * 3000, "\x00", "é🙂",
        ]  # fmt: skip
        self.token = server.user_token(self.me)
        self.conn: SyncWs | None = None
        self.n = 0
        self.outcomes: Counter[str] = Counter()  # what the server did, for the run's summary line

    def connection(self) -> SyncWs:
        if self.conn is None or self.conn.closed:
            try:
                self.conn = SyncWs(self.server.ws_url, self.me, self.token)
            except Closed:  # a 2003 logout may have retired the token: log in again
                self.token = self.server.user_token(self.me)
                self.conn = SyncWs(self.server.ws_url, self.me, self.token)
        return self.conn

    def next_incr(self) -> str:
        self.n += 1
        return f"fz{self.n}"

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@pytest.fixture(scope="module")
def world(fuzz_server: FuzzServer) -> Iterator[World]:
    w = World(fuzz_server)
    try:
        yield w
    finally:
        w.close()


# -- strategies ---------------------------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
# The envelope's own strings: a NUL there is refused like a lone surrogate (garbage, below).
_ENVELOPE_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)


def _scalar(fd: FieldDescriptor, world: World) -> st.SearchStrategy[Any]:
    cpp = fd.cpp_type
    if cpp == _FD.CPPTYPE_STRING:
        if fd.type == _FD.TYPE_BYTES:
            return st.one_of(st.binary(max_size=64), st.sampled_from([b"", b'{"content":"hi"}', b"{", b"\xff"]))
        return st.one_of(st.sampled_from(world.strings), _TEXT)
    if cpp == _FD.CPPTYPE_BOOL:
        return st.booleans()
    if cpp in (_FD.CPPTYPE_DOUBLE, _FD.CPPTYPE_FLOAT):
        return st.floats(width=32 if cpp == _FD.CPPTYPE_FLOAT else 64)
    lo, hi = _INT_RANGES[cpp]
    edges = [v for v in _EDGE_INTS if lo <= v <= hi] + [hi, lo]
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi), st.integers(0, 50))


def _fields(desc: Descriptor, world: World, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for fd in desc.fields:
        is_map = fd.is_repeated and fd.message_type is not None and fd.message_type.GetOptions().map_entry
        if is_map:
            key = _scalar(fd.message_type.fields_by_name["key"], world)
            val_fd = fd.message_type.fields_by_name["value"]
            if val_fd.cpp_type == _FD.CPPTYPE_MESSAGE:
                if depth >= 2:
                    continue
                val: st.SearchStrategy[Any] = _fields(val_fd.message_type, world, depth + 1)
            else:
                val = _scalar(val_fd, world)
            optional[fd.name] = st.dictionaries(key, val, max_size=3)
            continue
        if fd.cpp_type == _FD.CPPTYPE_MESSAGE:
            if depth >= 2:
                continue
            one: st.SearchStrategy[Any] = _fields(fd.message_type, world, depth + 1)
        else:
            one = _scalar(fd, world)
        optional[fd.name] = st.lists(one, max_size=4) if fd.is_repeated else one
    return st.fixed_dictionaries({}, optional=optional)


def _fill(msg: Message, values: dict[str, Any]) -> None:
    for name, value in values.items():
        fd = msg.DESCRIPTOR.fields_by_name[name]
        target = getattr(msg, name)
        if fd.is_repeated and fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            if fd.message_type.fields_by_name["value"].cpp_type == _FD.CPPTYPE_MESSAGE:
                for k, sub in value.items():
                    _fill(target[k], sub)
            else:
                target.update(value)
        elif fd.is_repeated and fd.cpp_type == _FD.CPPTYPE_MESSAGE:
            for sub in value:
                _fill(target.add(), sub)
        elif fd.is_repeated:
            target.extend(value)
        elif fd.cpp_type == _FD.CPPTYPE_MESSAGE:
            _fill(target, value)
            target.SetInParent()
        else:
            setattr(msg, name, value)


def _bases(world: World) -> dict[int, dict[str, Any]]:
    """A valid request of each type: most drawn requests change only a field or two of it, so that
    they get past the first checks to the code behind them."""
    lo, hi = sorted((world.me, world.peer))
    single, group = f"si_{lo}_{hi}", f"sg_{world.group}"
    text = {
        "sendID": world.me,
        "recvID": world.peer,
        "sessionType": 1,
        "contentType": 101,
        "msgFrom": 100,
        "senderPlatformID": 5,
        "content": b'{"content":"hi"}',
        "clientMsgID": "fz",
        "createTime": 1,
    }
    return {
        1001: {"userID": world.me},
        1002: {"userID": world.me, "seqRanges": [{"conversationID": single, "begin": 1, "end": 20, "num": 20}]},
        1003: text,
        1004: text,
        1005: {"userID": world.me, "conversations": [{"conversationID": group, "seqs": [1, 2, 3]}]},
        1006: {"userID": world.me, "conversationIDs": [single, group]},
        1007: {"userID": world.me, "conversationIDs": [single, group]},
        2003: {"userID": world.me, "platformID": 5},
        2004: {"userID": world.me, "isBackground": True},
        2005: {"subscribeUserID": [world.peer], "unsubscribeUserID": [world.me]},
    }  # fmt: skip


def _payload(req_id: int, world: World) -> st.SearchStrategy[bytes]:
    cls = REQUESTS[req_id]
    base = _bases(world)[req_id]

    def build(values: dict[str, Any]) -> bytes:
        msg = cls()
        _fill(msg, values)
        return msg.SerializeToString()

    every = _fields(cls.DESCRIPTOR, world, 0)
    one = {fd.name: _fields_of_one(cls.DESCRIPTOR, fd.name, world) for fd in cls.DESCRIPTOR.fields}
    near = st.lists(st.sampled_from(sorted(one)), max_size=2, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({n: one[n] for n in names})
    )
    near_valid = near.map(lambda changed: build({**base, **changed}))
    if req_id == 1003:  # a fresh clientMsgID, or the send is a duplicate of the first one
        near_valid = st.tuples(near, st.uuids()).map(lambda t: build({**base, "clientMsgID": str(t[1]), **t[0]}))
    valid = st.one_of(near_valid, near_valid, every.map(build))

    def mutate(args: tuple[bytes, int, int]) -> bytes:
        data, at, byte = args
        if not data:
            return bytes([byte])
        i = at % len(data)
        return data[:i] + bytes([byte]) + data[i + 1 :] if byte % 2 else data[:i]  # flip a byte or truncate

    mutated = st.tuples(valid, st.integers(0, 10_000), st.integers(0, 255)).map(mutate)
    return st.one_of(valid, valid, valid, mutated, st.binary(max_size=120))


def _fields_of_one(desc: Descriptor, name: str, world: World) -> st.SearchStrategy[Any]:
    """The strategy of one field of ``desc`` (what _fields draws for it)."""
    return _fields(desc, world, 0).filter(lambda d: name in d).map(lambda d: d[name])


def _envelope(req_id: int, incr: str, send_id: str, operation_id: str, data: bytes) -> bytes:
    return json.dumps({
        "reqIdentifier": req_id, "msgIncr": incr, "sendID": send_id, "operationID": operation_id,
        "data": base64.b64encode(data).decode("ascii"),
    }).encode()  # fmt: skip


# -- checks -------------------------------------------------------------------------------------------------


def _await_reply(world: World, conn: SyncWs, incr: str, what: str) -> Any:
    """The reply to ``incr`` (a dict), or None when the server closed the connection first."""
    from openim.wire.envelope import decode_response

    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while True:
        try:
            frame = conn.recv(deadline - time.monotonic())
        except Closed:
            return None
        except TimeoutError:
            raise AssertionError(f"{what}: no answer within {REPLY_TIMEOUT_S}s (a hang)") from None
        finally:
            assert world.server.alive, f"{what}: the server exited:\n{world.server.log_tail()}"
        if isinstance(frame, str):
            continue  # a pong or a text frame
        reply = decode_response(frame)
        if reply.msg_incr == incr:
            return reply


def _settings(n: int) -> Any:
    def wrap(fn: Any) -> Any:
        fn = settings(
            max_examples=n,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.shrink],
        )(fn)
        return seed(SEED)(fn) if SEED is not None else fn

    return wrap


@pytest.mark.parametrize("req_id", sorted(REQUESTS))
def test_every_request_type_is_answered_never_500(world: World, req_id: int) -> None:
    @_settings(EXAMPLES * 10)
    @given(data=_payload(req_id, world), operation_id=st.one_of(st.just("op"), _ENVELOPE_TEXT))
    def run(data: bytes, operation_id: str) -> None:
        conn = world.connection()
        incr = world.next_incr()
        what = f"{req_id} data={data.hex()[:400]} operationID={operation_id!r}"
        try:
            conn.send(_envelope(req_id, incr, world.me, operation_id, data))
        except Closed:
            pytest.fail(f"{what}: the connection was closed before the request was sent: {conn.closed}")
        reply = _await_reply(world, conn, incr, what)
        world.outcomes[f"{req_id}:{f'closed ({conn.closed})' if reply is None else reply.err_code}"] += 1
        if reply is None:
            assert req_id == 2003, f"{what}: the server closed the connection ({conn.closed}) on a well-formed request"
            return
        assert reply.err_code != 500, f"{what}: errCode 500 ({reply.err_msg})"
        if req_id == 2003 and reply.err_code == 0:  # a logout: the server closes the connection next
            assert _await_reply(world, conn, "(none)", what) is None

    run()
    print(f"WS fuzz {req_id}:", dict(sorted((k, v) for k, v in world.outcomes.items() if k.startswith(f"{req_id}:"))))
    logged = world.server.internal_errors()
    assert not logged, "the server logged internal errors:\n" + "\n".join(logged[:10])


_JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), _TEXT)


def _garbage(world: World) -> st.SearchStrategy[str | bytes]:
    known = st.sampled_from([*REQUESTS, 2001, 2002, 2006, 0, -1, 1000, 9999, 2**31])
    obj = st.fixed_dictionaries(
        {},
        optional={
            "reqIdentifier": st.one_of(known, _JSON_SCALARS),
            "msgIncr": st.one_of(_TEXT, _JSON_SCALARS),
            "sendID": st.one_of(st.just(world.me), st.just(world.peer), _JSON_SCALARS),
            "operationID": st.one_of(_TEXT, _JSON_SCALARS),
            "data": st.one_of(st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()), _JSON_SCALARS,
                              st.sampled_from(["", "=", "@@@@", "AAA", "A" * 5, "-_-_"])),
            "extra": _JSON_SCALARS,
        },
    )  # fmt: skip
    as_json = obj.map(lambda o: json.dumps(o).encode())
    lone = obj.map(lambda o: json.dumps({**o, "sendID": world.me, "operationID": "\ud800x"}).encode())
    nul = obj.map(lambda o: json.dumps({**o, "sendID": world.me, "operationID": "x\x00"}).encode())
    text_frames = st.one_of(
        st.sampled_from(['{"type":"ping"}', '{"type":"pong"}', '{"type":"x"}', "[]", "{", "ping", ""]), _TEXT
    )
    return st.one_of(
        as_json,
        as_json,
        lone,
        nul,
        st.binary(max_size=200),
        text_frames,
        st.sampled_from([b"[" * 20000, b'{"a":' * 5000, b"null", b"{}", b'"x"', b"1e999999"]),
    )


def test_garbage_frames_never_hang_500_or_crash(world: World) -> None:
    @_settings(EXAMPLES * 10)
    @given(frame=_garbage(world))
    def run(frame: str | bytes) -> None:
        conn = world.connection()
        what = f"garbage {frame[:300]!r}"
        try:
            conn.send(frame)
            incr = world.next_incr()
            conn.send(
                _envelope(1001, incr, world.me, "probe", sdkws_pb2.GetMaxSeqReq(userID=world.me).SerializeToString())
            )
        except Closed:
            world.outcomes["garbage:closed"] += 1
            return  # closed at once: fine
        reply = _await_reply(world, conn, incr, what)
        world.outcomes[f"garbage:{'closed' if reply is None else 'probe ' + str(reply.err_code)}"] += 1
        if reply is not None:
            assert reply.err_code == 0, f"{what}: the probe after it got {reply.err_code} {reply.err_msg}"

    run()
    print("WS fuzz garbage:", dict(sorted((k, v) for k, v in world.outcomes.items() if k.startswith("garbage"))))
    logged = world.server.internal_errors()
    assert not logged, "the server logged internal errors:\n" + "\n".join(logged[:10])
