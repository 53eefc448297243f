"""Serve an ASGI app with Hypercorn's HTTP/1.1 protocol on trio as a runtime module (api, or the standalone
ops listener), with the limits a public listener needs.

We run Hypercorn's per-connection server (``TCPServer``) under our own accept loop rather than
``hypercorn.trio.serve``, because the limits that matter against floods sit at accept time: every
accepted socket takes a slot of ``max_connections`` and of ``max_connections_per_ip`` before a byte is
read, and a socket past either is answered 1601 and closed at once (openim.security.connlimit). Two
timeouts bound what one connection can hold:

* ``header_timeout``: Hypercorn's keep-alive timer, which runs from the moment a connection opens or
  answers until a whole request head has arrived, so it bounds slow heads and idle keep-alives alike;
* ``body_timeout``: :class:`BodyDeadline` gives every request ``body_timeout`` seconds, from its head,
  to deliver its body. Past it the app's ``receive`` raises :class:`BodyTimeout` (an OpenIMError 1001,
  answered as an envelope); Hypercorn then closes the connection, since the request never finished.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import repr_socket_addr, wrap_app

from openim.ops.logging import get_log
from openim.security.connlimit import ConnectionLimiter, refusal_response
from openim.wire.errors import ErrCode, OpenIMError

log = get_log("http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RefusalCounter = Callable[[str], None]

REFUSAL_WRITE_TIMEOUT_S = 1.0


class BodyTimeout(OpenIMError):
    """The request's body did not arrive within the body timeout."""

    def __init__(self, timeout: float) -> None:
        super().__init__(ErrCode.ARGS, f"request body not received within {timeout:g}s")


class BodyDeadline:
    """ASGI middleware: the body of an HTTP request must arrive within ``timeout`` of its head."""

    def __init__(self, app: ASGIApp, timeout: float, on_timeout: Callable[[], None] | None = None) -> None:
        self._app = app
        self._timeout = timeout
        self._on_timeout = on_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        deadline = trio.current_time() + self._timeout
        complete = False

        async def receive_in_time() -> Message:
            nonlocal complete
            if complete:  # after the body, receive only waits for a disconnect: no deadline
                return await receive()
            with trio.move_on_at(deadline):
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    complete = True
                return message
            if self._on_timeout is not None:
                self._on_timeout()
            raise BodyTimeout(self._timeout)

        await self._app(scope, receive_in_time, send)


def _peer_ip(stream: trio.SocketStream) -> str:
    try:
        return str(stream.socket.getpeername()[0])
    except OSError:
        return ""


class HttpModule:
    """A module whose job is one HTTP listener. ``drain`` stops accepting and lets requests finish."""

    def __init__(
        self,
        name: str,
        app: Any,
        host: str,
        port: int,
        *,
        max_body: int = 8 * 1024 * 1024,
        max_connections: int = 0,
        max_connections_per_ip: int = 0,
        header_timeout: float = 75.0,
        body_timeout: float = 0.0,
        exempt_ips: frozenset[str] = frozenset(),
        on_refused: RefusalCounter | None = None,
    ) -> None:
        self.name = name
        self._on_refused = on_refused
        self._app: Any = app
        if body_timeout > 0:
            self._app = BodyDeadline(app, body_timeout, partial(self._refused, "body_timeout"))
        self._config = HypercornConfig()
        self._config.bind = [f"{host}:{port}"]
        self._config.accesslog = None
        self._config.errorlog = None
        self._config.graceful_timeout = 5.0
        self._config.wsgi_max_body_size = max_body
        self._config.keep_alive_timeout = header_timeout
        self._limiter = ConnectionLimiter(max_connections, max_connections_per_ip, exempt_ips)
        self._shutdown = trio.Event()
        self.bound: list[str] = []

    def _refused(self, limit: str) -> None:
        if self._on_refused is not None:
            self._on_refused(limit)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self.bound = list(await nursery.start(self._run))
            log.info("listening", module=self.name, address=",".join(self.bound))
            task_status.started()
        # Drained: wait for the runtime to cancel us.
        await trio.sleep_forever()

    async def drain(self) -> None:
        self._shutdown.set()

    async def _run(self, *, task_status: trio.TaskStatus[list[str]]) -> None:
        config = self._config
        app = wrap_app(self._app, config.wsgi_max_body_size, "asgi")
        context = WorkerContext(None)
        sockets = config.create_sockets()
        listeners: list[trio.SocketListener] = []
        binds: list[str] = []
        for sock in sockets.insecure_sockets:
            sock.listen(config.backlog)
            listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
            binds.append(f"http://{repr_socket_addr(sock.family, sock.getsockname())}")
        # No lifespan protocol: our apps have no startup/shutdown hooks; the runtime owns the process.
        lifespan_state: dict[str, Any] = {}
        handle = partial(self._connection, app, context, lifespan_state)
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as accepting:
                accepting.start_soon(partial(trio.serve_listeners, handle, listeners, handler_nursery=connections))
                task_status.started(binds)
                await self._shutdown.wait()
                accepting.cancel_scope.cancel()
            for listener in listeners:
                await listener.aclose()
            await context.terminated.set()  # idle keep-alive connections close now
            connections.cancel_scope.deadline = trio.current_time() + config.graceful_timeout

    async def _connection(
        self, app: Any, context: WorkerContext, lifespan_state: dict[str, Any], stream: trio.SocketStream
    ) -> None:
        ip = _peer_ip(stream)
        refused = self._limiter.acquire(ip)
        if refused is not None:
            self._refused("connections" if refused == "total" else "connections_per_ip")
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                with trio.move_on_after(REFUSAL_WRITE_TIMEOUT_S):
                    await stream.send_all(refusal_response(f"too many connections ({refused.replace('_', ' ')})"))
            await stream.aclose()
            return
        try:
            # Hypercorn types the stream as SSL but handles a plain SocketStream (its own serve passes one).
            server = TCPServer(app, self._config, context, ConnectionState(lifespan_state.copy()), stream)  # type: ignore[arg-type]
            await server
        finally:
            self._limiter.release(ip)
