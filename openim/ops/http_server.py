"""Serve an ASGI app with Hypercorn's trio worker as a runtime module (api, or the standalone ops listener)."""

from __future__ import annotations

from functools import partial
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from openim.ops.logging import get_log

log = get_log("http")


class HttpModule:
    """A module whose job is one HTTP listener. ``drain`` stops accepting and lets requests finish."""

    def __init__(self, name: str, app: Any, host: str, port: int, *, max_body: int = 8 * 1024 * 1024) -> None:
        self.name = name
        self._app = app
        self._config = HypercornConfig()
        self._config.bind = [f"{host}:{port}"]
        self._config.accesslog = None
        self._config.errorlog = None
        self._config.graceful_timeout = 5.0
        self._config.wsgi_max_body_size = max_body
        self._config.keep_alive_timeout = 75.0
        self._shutdown = trio.Event()
        self.bound: list[str] = []

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            run = partial(serve, self._app, self._config, shutdown_trigger=self._shutdown.wait)
            self.bound = list(await nursery.start(run))
            log.info("listening", module=self.name, address=",".join(self.bound))
            task_status.started()
        # Hypercorn returned: we are draining; wait for the runtime to cancel us.
        await trio.sleep_forever()

    async def drain(self) -> None:
        self._shutdown.set()
