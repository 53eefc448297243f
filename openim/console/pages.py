"""Serving the console's pages and assets from ``openim/web`` (inside the package, so inside the binary).

``/admin`` and ``/demo`` answer their ``index.html``; every asset is under ``/ui/``. Nothing is loaded
from anywhere else, and the Content-Security-Policy says so to the browser: scripts, styles and images
from this origin only; connections to this origin and to WebSocket gateways (the gateway listens on its
own port, so it is another origin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openim.node import Node

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Assets are small and revalidated by ETag: an upgraded binary shows its new console at once.
    "Cache-Control": "no-cache",
}


class _WithHeaders:
    """ASGI wrapper that adds SECURITY_HEADERS to every HTTP response of ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self._headers]}
            await send(message)

        await self._app(scope, receive, send_with_headers)


def _page(relative: str) -> Any:
    path = WEB_ROOT / relative

    async def page(_: Request) -> Response:
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    return page


def _redirect(target: str) -> Any:
    async def redirect(_: Request) -> Response:
        return RedirectResponse(target, status_code=308)

    return redirect


def gateway_address(request: Request, node: Node) -> str:
    """Where the demo's WebSocket goes by default: the host the page came from, the gateway's port."""
    host = request.url.hostname or "127.0.0.1"
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return f"{scheme}://{host}:{node.config.gateway.port}"


def page_routes(node: Node) -> list[BaseRoute]:
    async def demo_config(request: Request) -> Response:
        return JSONResponse({"wsAddr": gateway_address(request, node), "platformID": 5}, headers=SECURITY_HEADERS)

    return [
        Route("/admin", _redirect("/admin/"), methods=["GET", "HEAD"]),
        Route("/admin/", _page("admin/index.html"), methods=["GET", "HEAD"]),
        Route("/demo", _redirect("/demo/"), methods=["GET", "HEAD"]),
        Route("/demo/", _page("demo/index.html"), methods=["GET", "HEAD"]),
        Route("/demo/config.json", demo_config, methods=["GET"]),
        Mount("/ui", app=_WithHeaders(StaticFiles(directory=WEB_ROOT, check_dir=False)), name="ui"),
    ]
