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

The queue of after-callbacks lives in memory: a process that dies loses what it had not sent, and a
receiver that stays down past ``after_attempts`` loses those callbacks (both are counted and logged).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import trio

from openim.config import WebhooksConfig
from openim.ops.logging import get_log
from openim.webhook_catalog import HOOKS, KEYED_HOOKS
from openim.webhooks.keys import message_key_query
from openim.wire.errors import ErrCode, OpenIMError

log = get_log("webhooks")

DRAIN_TIMEOUT_S = 3.0


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


@dataclass(slots=True)
class _Pending:
    hook: str
    body: dict[str, Any]
    operation_id: str
    attempt: int = 1


class Webhooks:
    """The dispatcher; also the process module that runs the after-callback workers."""

    name = "webhooks"

    def __init__(self, cfg: WebhooksConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._cfg = cfg
        self._url = cfg.url.rstrip("/")
        every = "*" in cfg.enable
        self._enabled = frozenset(HOOKS) if every else frozenset(cfg.enable)
        self._client = httpx.AsyncClient(transport=transport, timeout=cfg.timeout)
        self._send, self._recv = trio.open_memory_channel[_Pending](cfg.after_queue_size)
        self._outstanding = 0  # accepted and not finished yet (queued, being sent, or waiting to retry)
        self._scope = trio.CancelScope()
        self._stopping = False
        self.dropped = 0  # after-callbacks given up (queue full or attempts exhausted)
        self.delivered = 0

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

    async def _post(self, hook: str, body: Mapping[str, Any], operation_id: str, query: str = "") -> httpx.Response:
        headers = {**self._cfg.headers, "operationID": operation_id, "Content-Type": "application/json"}
        if not query and hook in KEYED_HOOKS:
            query = message_key_query(body)  # OpenIM's ?key= of a stored message's after-callbacks
        url = f"{self._url}/{HOOKS[hook]}{query}"
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
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
        """Queue the callback and return at once; dropped (and counted) when the queue is full."""
        if not self.enabled(hook):
            return
        item = _Pending(hook, self._body(hook, payload, operation_id), operation_id)
        try:
            self._send.send_nowait(item)
        except (trio.WouldBlock, trio.ClosedResourceError):
            self.dropped += 1
            log.warning("webhook.dropped", hook=hook, reason="queue full", operation_id=operation_id)
        else:
            self._outstanding += 1

    def _backoff(self, attempt: int) -> float:
        delay = min(self._cfg.after_backoff * math.pow(2, attempt - 1), self._cfg.after_backoff_max)
        return delay * random.uniform(0.8, 1.0)  # spread retries of many callbacks a little

    async def _deliver(self, item: _Pending, nursery: trio.Nursery) -> None:
        try:
            with trio.fail_after(self._cfg.timeout):
                resp = await self._post(item.hook, item.body, item.operation_id)
            retry = resp.status_code >= 500 or resp.status_code == 429
            error = f"HTTP {resp.status_code}"
        except (trio.TooSlowError, httpx.HTTPError) as exc:
            retry, error = True, "timed out" if isinstance(exc, trio.TooSlowError) else f"{type(exc).__name__}: {exc}"
        else:
            if not retry:
                self.delivered += 1
                self._outstanding -= 1
                return
        if item.attempt >= self._cfg.after_attempts or self._stopping:
            self.dropped += 1
            self._outstanding -= 1
            log.warning(
                "webhook.gave_up", hook=item.hook, attempts=item.attempt, error=error, operation_id=item.operation_id
            )
            return
        item.attempt += 1
        nursery.start_soon(self._retry_later, item, self._backoff(item.attempt - 1))

    async def _retry_later(self, item: _Pending, delay: float) -> None:
        # Waiting in a task of its own keeps the workers free for fresh callbacks while the receiver
        # recovers.
        await trio.sleep(delay)
        try:
            self._send.send_nowait(item)
        except (trio.WouldBlock, trio.ClosedResourceError):
            self.dropped += 1
            self._outstanding -= 1
            log.warning("webhook.dropped", hook=item.hook, reason="queue full on retry")

    async def _worker(self, nursery: trio.Nursery) -> None:
        async for item in self._recv:
            try:
                await self._deliver(item, nursery)
            except Exception:  # one bad callback must not stop the worker
                self._outstanding -= 1
                log.error("webhook.worker_error", hook=item.hook, exc_info=True)

    # -- module -----------------------------------------------------------------------------------------
    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with self._scope:
            async with trio.open_nursery() as nursery:
                for _ in range(self._cfg.after_workers):
                    nursery.start_soon(self._worker, nursery)
                task_status.started()
        await self._client.aclose()

    async def drain(self) -> None:
        """Give queued callbacks a moment to go out, then stop (nothing is retried any more)."""
        self._stopping = True
        with trio.move_on_after(DRAIN_TIMEOUT_S):
            while self._recv.statistics().current_buffer_used:
                await trio.sleep(0.05)
        self._scope.cancel()

    async def flushed(self) -> None:
        """Wait until every accepted callback was delivered or given up."""
        while self._outstanding:
            await trio.sleep(0.01)


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
