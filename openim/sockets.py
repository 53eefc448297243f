"""Plain non-blocking sockets under trio: reading, writing all of a buffer and closing, the same way for
the gateway's own transport (openim.gateway.transport_wsproto: the handshake, the listener) and the bench's
client (openim.bench.client: the upgrade and the login). Neither is on a per-message path; the gateway's
per-frame reads and writes have their own loops (the reactor, a connection's outgoing buffer).

A socket here is registered with trio only through ``wait_readable`` / ``wait_writable``, so closing one
tells trio first (``notify_closing``): a task still waiting on it wakes with ClosedResourceError instead of
waiting on a file descriptor number that may be reused.
"""

from __future__ import annotations

import socket

import trio

__all__ = ["close_socket", "receive", "send_all"]


async def receive(sock: socket.socket, size: int) -> bytes:
    """One read of at most ``size`` bytes, waiting until there is something; b"" when the peer closed."""
    while True:
        try:
            return sock.recv(size)
        except BlockingIOError:
            await trio.lowlevel.wait_readable(sock)


async def send_all(sock: socket.socket, data: bytes) -> None:
    """Write everything to a non-blocking socket, waiting while its send buffer is full."""
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        view = view[sent:]


def close_socket(sock: socket.socket) -> None:
    trio.lowlevel.notify_closing(sock)
    sock.close()
