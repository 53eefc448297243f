"""Plain non-blocking sockets under trio: writing all of a buffer and closing, the same way for the
gateway's own transport (openim.gateway.transport_wsproto: handshake answers) and the bench's client
(openim.bench.client: the upgrade request, and pongs until the login is answered). Neither is on a
per-message path; the gateway's per-frame writes have their own loop (its connection's outgoing buffer).

A socket here is registered with trio only through ``wait_readable`` / ``wait_writable``, so closing one
tells trio first (``notify_closing``): a task still waiting on it wakes with ClosedResourceError instead of
waiting on a file descriptor number that may be reused.
"""

from __future__ import annotations

import socket

import trio

__all__ = ["close_socket", "send_all"]


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
