"""A storage-less stand-in server for measuring ``openim bench`` itself, not the server.

It speaks just enough of the protocol for the bench: the four REST routes the set-up calls
(admin token, user_register, get_user_token, create_group) and the WebSocket gateway (the JS SDK's
upgrade, the handshake text, text pings, and 1003 sends answered at once with the reply, the echo to
the sender and the push to the recipient or to every other group member). Nothing is stored, no
token is checked, seqs come from one counter. It is one process with one epoll loop on raw
non-blocking sockets, byte-scans the request envelope and re-wraps the request's MsgData bytes into
the push without a protobuf round trip, so it costs about as much per message as the lean bench and
the bench's own CPU per message can be read from its report (``load generator CPU``).

    taskset -c 0 python scripts/bench_standin.py --api-port 18002 --ws-port 18001 &
    taskset -c 1 python -m openim bench direct --api http://127.0.0.1:18002 --ws ws://127.0.0.1:18001 \\
        --secret x --server-pid $! --users 200 --window 8 --duration 10

Stop it with SIGTERM/SIGINT (by its pid). Loopback only; not a server to run anywhere else.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import select
import signal
import socket
import sys
import time
from typing import Any

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_HANDSHAKE_OK = b'{"errCode":0,"errMsg":"","errDlt":""}'
_PONG = b'{"type":"pong","body":null}'
_REQ = re.compile(
    rb'\{"reqIdentifier":(\d+),"msgIncr":"([^"]*)","sendID":"([^"]*)","operationID":"([^"]*)","data":"([^"]*)"\}'
)
_TARGET_SEND_ID = re.compile(rb"[?&]sendID=([^&\s]+)")
_RECV = 256 * 1024


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _varint(len(payload)) + payload


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _leading_strings(msg: bytes) -> dict[int, bytes]:
    """The length-delimited fields 1-3 (sendID, recvID, groupID), which serializers write first."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(msg):
        tag = msg[i]
        num, wire = tag >> 3, tag & 7
        if wire != 2 or num > 3:
            break
        n, i = _read_varint(msg, i + 1)
        out[num] = msg[i : i + n]
        i += n
    return out


def _server_frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big") + payload


def _unmask(mask: bytes, data: bytes) -> bytes:
    if mask == b"\0\0\0\0":
        return data
    n = len(data)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ key).to_bytes(n, "little")


class _Conn:
    __slots__ = ("buf", "kind", "out", "sock", "user")

    def __init__(self, sock: socket.socket, kind: str) -> None:
        self.sock = sock
        self.kind = kind  # "http" (REST), "upgrade" (WS before 101), "ws"
        self.buf = b""
        self.out = bytearray()
        self.user = b""


class StandIn:
    def __init__(self, host: str, api_port: int, ws_port: int) -> None:
        self.ep = select.epoll()
        self.conns: dict[int, _Conn] = {}
        self.listeners: dict[int, tuple[socket.socket, str]] = {}
        self.online: dict[bytes, _Conn] = {}
        self.groups: dict[bytes, list[bytes]] = {}
        self.dirty: set[_Conn] = set()
        self.seq = 0
        self.sends = 0
        for port, kind in ((api_port, "http"), (ws_port, "upgrade")):
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((host, port))
            ls.listen(4096)
            ls.setblocking(False)
            self.listeners[ls.fileno()] = (ls, kind)
            self.ep.register(ls.fileno(), select.EPOLLIN)

    def run(self) -> None:
        stop = False

        def _stop(*_: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        while not stop:
            try:
                events = self.ep.poll(0.2)
            except InterruptedError:
                continue
            for fd, ev in events:
                if fd in self.listeners:
                    self._accept(*self.listeners[fd])
                    continue
                conn = self.conns.get(fd)
                if conn is None:
                    continue
                if ev & select.EPOLLOUT:
                    self._write(conn)
                if ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                    self._read(conn)
            for conn in self.dirty:
                self._write(conn)
            self.dirty.clear()

    # -- plumbing ------------------------------------------------------------------------------
    def _accept(self, ls: socket.socket, kind: str) -> None:
        while True:
            try:
                sock, _ = ls.accept()
            except BlockingIOError:
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(sock, kind)
            self.conns[sock.fileno()] = conn
            self.ep.register(sock.fileno(), select.EPOLLIN)

    def _close(self, conn: _Conn) -> None:
        fd = conn.sock.fileno()
        if fd in self.conns:
            del self.conns[fd]
            self.ep.unregister(fd)
        if conn.user and self.online.get(conn.user) is conn:
            del self.online[conn.user]
        conn.sock.close()
        self.dirty.discard(conn)

    def _queue(self, conn: _Conn, data: bytes) -> None:
        conn.out += data
        self.dirty.add(conn)

    def _write(self, conn: _Conn) -> None:
        if not conn.out:
            return
        try:
            n = conn.sock.send(conn.out)
        except BlockingIOError:
            n = 0
        except OSError:
            self._close(conn)
            return
        del conn.out[:n]
        if conn.out:
            self.ep.modify(conn.sock.fileno(), select.EPOLLIN | select.EPOLLOUT)
        elif n:
            self.ep.modify(conn.sock.fileno(), select.EPOLLIN)

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(_RECV)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        conn.buf += data
        if conn.kind == "ws":
            self._ws_frames(conn)
        elif conn.kind == "upgrade":
            self._upgrade(conn)
        else:
            self._http(conn)

    # -- REST ----------------------------------------------------------------------------------
    def _http(self, conn: _Conn) -> None:
        while True:
            end = conn.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = conn.buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(conn.buf) < end + 4 + length:
                return
            body = conn.buf[end + 4 : end + 4 + length]
            conn.buf = conn.buf[end + 4 + length :]
            path = head.split(" ", 2)[1]
            reply = json.dumps(self._route(path, json.loads(body) if body else {})).encode()
            self._queue(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                        + str(len(reply)).encode() + b"\r\n\r\n" + reply)

    def _route(self, path: str, body: Any) -> dict[str, Any]:
        data: Any = None
        if path == "/auth/get_admin_token":
            data = {"token": "admin", "expireTimeSeconds": 86400}
        elif path == "/auth/get_user_token":
            data = {"token": "t" + str(body.get("userID", "")), "expireTimeSeconds": 86400}
        elif path == "/group/create_group":
            gid = f"g{len(self.groups) + 1}"
            members = [body.get("ownerUserID", ""), *body.get("memberUserIDs", [])]
            self.groups[gid.encode()] = [m.encode() for m in members]
            data = {"groupInfo": {"groupID": gid}}
        elif path == "/user/user_register":
            data = None
        else:
            return {"errCode": 1004, "errMsg": "RecordNotFoundError", "errDlt": path}
        return {"errCode": 0, "errMsg": "", "errDlt": "", "data": data}

    # -- WebSocket -----------------------------------------------------------------------------
    def _upgrade(self, conn: _Conn) -> None:
        end = conn.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head, conn.buf = conn.buf[:end], conn.buf[end + 4 :]
        key = b""
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        m = _TARGET_SEND_ID.search(head.split(b"\r\n", 1)[0])
        if not key or not m:
            self._close(conn)
            return
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
        conn.kind = "ws"
        conn.user = m.group(1)
        old = self.online.get(conn.user)
        self.online[conn.user] = conn
        if old is not None:
            self._close(old)
        self._queue(conn, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + _server_frame(1, _HANDSHAKE_OK))
        if conn.buf:
            self._ws_frames(conn)

    def _ws_frames(self, conn: _Conn) -> None:
        buf = conn.buf
        i = 0
        n = len(buf)
        while n - i >= 6:
            b0, b1 = buf[i], buf[i + 1]
            length = b1 & 0x7F
            j = i + 2
            if length == 126:
                if n - j < 2:
                    break
                length = int.from_bytes(buf[j : j + 2], "big")
                j += 2
            elif length == 127:
                if n - j < 8:
                    break
                length = int.from_bytes(buf[j : j + 8], "big")
                j += 8
            if n - j < 4 + length:
                break
            mask = buf[j : j + 4]
            payload = _unmask(mask, buf[j + 4 : j + 4 + length])
            i = j + 4 + length
            opcode = b0 & 0x0F
            if opcode == 2:
                self._request(conn, payload)
            elif opcode == 1:
                self._queue(conn, _server_frame(1, _PONG))
            elif opcode == 9:
                self._queue(conn, _server_frame(10, payload))
            elif opcode == 8:
                self._close(conn)
                return
        conn.buf = buf[i:]

    def _request(self, conn: _Conn, payload: bytes) -> None:
        m = _REQ.match(payload)
        if m is None or m.group(1) != b"1003":
            return  # the bench sends nothing else; a real server would answer
        incr, op, b64 = m.group(2), m.group(4), m.group(5)
        msg = binascii.a2b_base64(b64)
        fields = _leading_strings(msg)
        self.seq += 1
        self.sends += 1
        now_ms = time.time_ns() // 1_000_000
        server_id = b"s%x" % self.seq
        sender = conn.user
        reply = _field(0x0A, server_id) + _field(0x12, _leading_client_msg_id(msg)) + b"\x18" + _varint(now_ms)
        b64 = binascii.b2a_base64(reply, newline=False)
        self._queue(conn, _server_frame(2, b'{"reqIdentifier":1003,"msgIncr":"' + incr + b'","operationID":"' + op
                                        + b'","errCode":0,"errMsg":"","data":"' + b64 + b'"}'))
        full = msg + _field(0x2A, server_id) + b"\x70" + _varint(self.seq) + b"\x78" + _varint(now_ms)
        group = fields.get(3)
        if group:
            conv = b"sg_" + group
            targets = self.groups.get(group, [])
        else:
            peer = fields.get(2, b"")
            conv = b"si_" + b"_".join(sorted((sender, peer)))
            targets = [sender, peer]
        pull = _field(0x0A, full)
        entry = _field(0x0A, conv) + _field(0x12, pull)
        push = b'{"reqIdentifier":2001,"msgIncr":"","operationID":"' + op + b'","errCode":0,"errMsg":"","data":"' \
            + binascii.b2a_base64(_field(0x0A, entry), newline=False) + b'"}'
        frame = _server_frame(2, push)
        self._queue(conn, frame)  # the echo, after the reply
        for user in targets:
            if user == sender:
                continue
            peer_conn = self.online.get(user)
            if peer_conn is not None:
                self._queue(peer_conn, frame)


def _leading_client_msg_id(msg: bytes) -> bytes:
    i = 0
    while i < len(msg):
        tag = msg[i]
        num, wire = tag >> 3, tag & 7
        if wire != 2:
            break
        n, i = _read_varint(msg, i + 1)
        if num == 4:
            return msg[i : i + n]
        i += n
    return b""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--api-port", type=int, default=18002)
    ap.add_argument("--ws-port", type=int, default=18001)
    args = ap.parse_args()
    server = StandIn(args.host, args.api_port, args.ws_port)
    print(f"stand-in: api :{args.api_port} ws :{args.ws_port} pid {__import__('os').getpid()}", flush=True)
    server.run()
    print(f"stand-in: {server.sends} sends answered", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
