"""Posting OpenIM callbacks to the business backend: before-callbacks wait for the answer (and may
stop or change the operation); after-callbacks are queued, sent by workers and retried with backoff,
and never hold up the operation that caused them.

Transport: ``POST <webhooks.url>/<callbackCommand>`` with a JSON body (``callbackCommand`` and
``operationID`` included) and an ``operationID`` header, as OpenIM sends them. The answer of a
before-callback is OpenIM's ``{actionCode, errCode, errMsg, errDlt, nextCode}``: ``actionCode == 0``
and ``nextCode == 1`` refuses the operation with the receiver's own errCode/errMsg/errDlt; anything else
lets it go on, with the answer's other non-null fields available to the caller as modifications.

Failure (no answer within ``timeout``, connection refused, HTTP error, a body that is not JSON) is
``fail_open``'s call: go on, or refuse with 90004 NetworkError / 90007 DataError as OpenIM does.

After-callbacks go through a durable queue (openim.webhooks.delivery: the Store in the embedded mode,
Redis in a cluster), are delivered at least once, and end as dead letters, kept with their last error,
when the receiver failed ``after_attempts`` times.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import trio

from openim.clock import now_ms
from openim.config import WebhooksConfig
from openim.hook_queue import HookEntry, HookQueue
from openim.ops.logging import get_log
from openim.ops.metrics import Metrics
from openim.webhook_catalog import HOOKS, KEYED_HOOKS
from openim.webhooks.delivery import AfterDelivery
from openim.webhooks.keys import message_key_query
from openim.wire.errors import ErrCode, OpenIMError

log = get_log("webhooks")


class HookCode(int):
    """An errCode chosen by the receiver (any int, not one of ours), with the errMsg it sent, so a
    refusal reaches the client exactly as the receiver worded it."""

    err_msg: str

    def __new__(cls, value: int, err_msg: str) -> HookCode:
        code = super().__new__(cls, value)
        code.err_msg = err_msg
        return code


def refusal(err_code: int, err_msg: str, err_dlt: str) -> OpenIMError:
    """The error a blocking answer becomes (errCode 0 would read as success: OpenIM sends it as is,
    we substitute 80000 CallbackError so the client sees the refusal)."""
    if not err_code:
        return OpenIMError(ErrCode.CALLBACK, err_dlt or err_msg or "refused by the callback")
    return OpenIMError(cast(ErrCode, HookCode(err_code, err_msg)), err_dlt)


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """A before-callback's answer once it let the operation go on: the fields it returned (modifications
    are the non-null ones the caller knows how to apply)."""

    body: Mapping[str, Any] = field(default_factory=dict)

    def changed(self, key: str) -> Any:
        """The new value of ``key``, or None when the answer leaves it alone."""
        return self.body.get(key)


class Webhooks:
    """The dispatcher; also the process module that runs the after-callback workers."""

    name = "webhooks"

    def __init__(
        self,
        cfg: WebhooksConfig,
        *,
        queue: HookQueue,
        consumer: str,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``queue`` keeps the after-callbacks (the Store or the Redis bus, chosen by openim.assembly);
        ``consumer`` names this process in it (its node id, the same at every start)."""
        self._cfg = cfg
        self._url = cfg.url.rstrip("/")
        every = "*" in cfg.enable
        self._enabled = frozenset(HOOKS) if every else frozenset(cfg.enable)
        self._client = httpx.AsyncClient(transport=transport, timeout=cfg.timeout)
        # After-callbacks: only when one is enabled does anything run or get read (the queue included).
        self._delivers = bool(self._url) and any(h.startswith("after") for h in self._enabled)
        self._queue = queue
        self.delivery = AfterDelivery(cfg, queue, consumer=consumer, post=self._post_text, metrics=metrics)

    @property
    def dropped(self) -> int:
        """After-callbacks refused at after() (the queue full); dead letters are counted apart."""
        return self.delivery.dropped

    @property
    def delivered(self) -> int:
        return self.delivery.delivered

    @property
    def active(self) -> bool:
        return bool(self._url and self._enabled)

    def enabled(self, hook: str) -> bool:
        return hook in self._enabled and bool(self._url)

    @property
    def denied_content_types(self) -> frozenset[int]:
        return frozenset(self._cfg.denied_content_types)

    @property
    def attention_ids(self) -> frozenset[str]:
        return frozenset(self._cfg.attention_ids)

    # -- one request ----------------------------------------------------------------------------------
    def _body(self, hook: str, payload: Mapping[str, Any], operation_id: str) -> dict[str, Any]:
        return {"callbackCommand": HOOKS[hook], "operationID": operation_id, **payload}

    async def _post(self, hook: str, body: Mapping[str, Any], operation_id: str) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return await self._post_text(hook, content, operation_id, body)

    async def _post_text(
        self, hook: str, content: bytes, operation_id: str, body: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        """POST ``content`` (the JSON text of ``body``; a queued after-callback has only the text)."""
        headers = {**self._cfg.headers, "operationID": operation_id, "Content-Type": "application/json"}
        url = f"{self._url}/{HOOKS[hook]}"
        if hook in KEYED_HOOKS:  # OpenIM's ?key= of a stored message's after-callbacks
            url += message_key_query(body if body is not None else json.loads(content))
        return await self._client.post(url, content=content, headers=headers)

    # -- before ---------------------------------------------------------------------------------------
    async def before(self, hook: str, payload: Mapping[str, Any], *, operation_id: str) -> HookAnswer | None:
        """Ask the receiver; raise OpenIMError when it refuses (or fails and ``fail_open`` is off).
        None when the hook is not enabled."""
        if not self.enabled(hook):
            return None
        body = self._body(hook, payload, operation_id)
        try:
            with trio.fail_after(self._cfg.timeout):
                resp = await self._post(hook, body, operation_id)
            resp.raise_for_status()
        except (trio.TooSlowError, httpx.HTTPError) as exc:
            reason = "timed out" if isinstance(exc, trio.TooSlowError) else f"{type(exc).__name__}: {exc}"
            return self._failed(hook, ErrCode.NETWORK, f"callback {HOOKS[hook]} failed: {reason}")
        try:
            answer = resp.json()
        except ValueError:
            return self._failed(hook, ErrCode.DATA, f"callback {HOOKS[hook]} answered with something not JSON")
        if not isinstance(answer, dict):
            return self._failed(
                hook, ErrCode.DATA, f"callback {HOOKS[hook]} answered with a JSON {type(answer).__name__}"
            )
        if _as_int(answer.get("actionCode")) == 0 and _as_int(answer.get("nextCode")) == 1:
            log.info("webhook.refused", hook=hook, operation_id=operation_id, err_code=answer.get("errCode"))
            raise refusal(
                _as_int(answer.get("errCode")), str(answer.get("errMsg") or ""), str(answer.get("errDlt") or "")
            )
        return HookAnswer(answer)

    def _failed(self, hook: str, code: ErrCode, detail: str) -> HookAnswer | None:
        log.warning("webhook.failed", hook=hook, fail_open=self._cfg.fail_open, error=detail)
        if self._cfg.fail_open:
            return HookAnswer()
        raise OpenIMError(code, detail)

    # -- after ----------------------------------------------------------------------------------------
    def after(self, hook: str, payload: Mapping[str, Any], *, operation_id: str) -> None:
        """Queue the callback and return at once (no I/O: the durable write follows within a few ms, see
        openim.webhooks.delivery); refused, counted and logged only when the queue is full."""
        if not self.enabled(hook):
            return
        self.delivery.accept(hook, self._body(hook, payload, operation_id), operation_id)

    # -- module -----------------------------------------------------------------------------------------
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            if self._delivers:
                await self.delivery.serve(task_status=task_status)  # returns once drained
            else:
                task_status.started()
            # A module returns only by cancellation (the runtime's, after every drain): returning on its
            # own reads as a crash.
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True, deadline=trio.current_time() + 2):
                await self._client.aclose()

    async def drain(self) -> None:
        """Stop sending; what is queued stays queued for the next start (nothing to wait for)."""
        if self._delivers:
            await self.delivery.drain()

    # -- dead letters (the console's and the CLI's) ------------------------------------------------------
    async def dead_letters(self, *, limit: int) -> list[HookEntry]:
        """The oldest dead letters, with their attempts and last error."""
        return await self._queue.hook_dead_letters(limit=limit)

    async def redrive(self, entry_ids: Sequence[str] | None) -> int:
        """Queue dead letters again (the listed ones, or all), attempts reset; how many were requeued."""
        count = await self._queue.hook_redrive(entry_ids, now_ms=now_ms())
        if count:
            log.info("webhook.redriven", callbacks=count)
            self.delivery.poke()
        return count

    async def flushed(self) -> None:
        """Wait until every accepted callback was delivered or made a dead letter (for tests)."""
        await self.delivery.flushed()


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
