"""Answers to senders: how the transfer stage's outcome reaches whoever waits for it.

In one process the :class:`~openim.pipeline.jobs.SendJob` carries a ``done`` callback and the transfer
stage calls it directly after the commit: no channel, nothing that could drop it. Across processes the
origin keeps the job in :class:`Replies` under a request id; the transfer stage publishes the outcomes
of a batch to each origin node in one payload (KIND_REPLY), and the origin's inbox completes the jobs.
A reply that never comes (the transfer process died, and the redelivered item could not be stored
either) completes the job with an error after ``timeout_s``; the client's retry is deduplicated.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections import defaultdict
from collections.abc import Sequence

import trio

from openim.bus.port import Bus, BusUnavailable
from openim.internode.inbox import NodeInbox
from openim.internode.payloads import KIND_REPLY
from openim.ops.logging import get_log
from openim.pipeline.codec import decode_replies, encode_replies
from openim.pipeline.jobs import PushJob, SendJob
from openim.wire.errors import ErrCode
from openim.wire.msgdata import with_seq

__all__ = ["Replies", "finish"]

log = get_log("pipeline")

SWEEP_INTERVAL_S = 1.0


def finish(job: SendJob) -> None:
    """Run a job's completion; a failing callback costs that sender its answer, never the batch."""
    done = job.done
    if done is None:
        return
    job.done = None
    try:
        done(job)
    except Exception:
        log.error("reply.callback_failed", conversation_id=job.conversation_id, exc_info=True)


class Replies:
    """This process's sends waiting for a remote transfer stage, and the publishing of outcomes."""

    name = "replies"

    def __init__(self, *, bus: Bus, node_id: str, inbox: NodeInbox, timeout_s: float) -> None:
        self._bus = bus
        self._node_id = node_id
        self._timeout = timeout_s
        # A random start: node ids survive restarts, so a reply meant for the previous incarnation of this
        # process must not match a send of this one.
        self._ids = itertools.count(secrets.randbits(62) | 1)
        self._pending: dict[int, tuple[float, SendJob]] = {}  # request id -> (deadline, job), oldest first
        inbox.register(KIND_REPLY, self._on_replies)

    def __len__(self) -> int:
        return len(self._pending)

    # -- origin side ----------------------------------------------------------------------------------
    def expect(self, job: SendJob) -> None:
        """Remember ``job`` until its reply arrives from another process (or it times out)."""
        job.request_id = next(self._ids)
        self._pending[job.request_id] = (time.monotonic() + self._timeout, job)

    def _on_replies(self, body: bytes) -> None:
        for reply in decode_replies(body):
            entry = self._pending.pop(reply.request_id, None)
            if entry is None:
                continue  # timed out already; the client's retry dedupes to this stored message
            job = entry[1]
            job.seq, job.server_msg_id, job.send_time = reply.seq, reply.server_msg_id, reply.send_time
            job.duplicate, job.err_code, job.err_detail = reply.duplicate, reply.err_code, reply.err_detail
            if not job.err_code and not job.duplicate:
                job.push = PushJob(job.conversation_id, with_seq(job.payload, job.seq), job.operation_id)
            finish(job)

    def forget(self, job: SendJob) -> None:
        """Stop waiting for ``job`` (it never reached the transfer stage; the caller answers itself)."""
        self._pending.pop(job.request_id, None)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await trio.sleep(SWEEP_INTERVAL_S)
            self.sweep(time.monotonic())

    def sweep(self, now: float) -> int:
        """Complete with an error every job whose reply is overdue; returns how many."""
        expired: list[SendJob] = []
        for deadline, job in self._pending.values():
            if deadline > now:
                break  # insertion order is deadline order
            expired.append(job)
        for job in expired:
            del self._pending[job.request_id]
            job.err_code = int(ErrCode.SERVER_INTERNAL)
            job.err_detail = "message not acknowledged by storage in time; retry"
            finish(job)
        return len(expired)

    async def drain(self) -> None:
        return None

    # -- transfer side --------------------------------------------------------------------------------
    async def complete(self, jobs: Sequence[SendJob]) -> None:
        """Answer every job of a stored (or refused) batch: local ones at once, remote ones with one
        publish per origin node."""
        remote: dict[str, list[SendJob]] = defaultdict(list)
        for job in jobs:
            if job.done is not None:
                finish(job)
            elif job.request_id and job.origin_node:
                remote[job.origin_node].append(job)
        for node, node_jobs in remote.items():
            try:
                await self._bus.publish(node, [KIND_REPLY + encode_replies(node_jobs)])
            except BusUnavailable as exc:
                # The senders time out and retry; their retries dedupe to these stored messages.
                log.warning("reply.unavailable", node=node, count=len(node_jobs), error=str(exc.__cause__ or exc))
