"""Replies: how a remote transfer stage's outcome reaches the process whose sender waits, and what happens
when it never comes (500 after the timeout; a late reply is ignored)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.internode.inbox import NodeInbox
from openim.pipeline import codec
from openim.pipeline.jobs import SendJob
from openim.pipeline.replies import Replies, finish
from openim.wire.msgdata import with_seq
from openim.wire.pb import sdkws_pb2

pytestmark = pytest.mark.trio

TIMEOUT = 15.0


def new_job(client_msg_id: str, done: list[SendJob]) -> SendJob:
    msg = sdkws_pb2.MsgData(
        sendID="alice", recvID="bob", clientMsgID=client_msg_id, serverMsgID="s-" + client_msg_id, sendTime=1000,
        sessionType=1, contentType=101, content=b"{}", status=2,
    )
    return SendJob(
        payload=msg.SerializeToString(), send_id="alice", recv_id="bob", group_id="", client_msg_id=client_msg_id,
        server_msg_id=msg.serverMsgID, send_time=1000, session_type=1, content_type=101,
        conversation_id="si_alice_bob", conversation_type=1, owners=("alice", "bob"), reader_user_id="alice",
        recipients=("bob", "alice"), operation_id="op-" + client_msg_id, origin_node="origin", origin_conn="7",
        done=done.append,
    )


async def wait_for(done: list[SendJob], count: int) -> None:
    with trio.fail_after(5):
        while len(done) < count:
            await trio.sleep(0.01)


@dataclass
class Two:
    """An origin process (it waits for answers) and a transfer process, on one bus."""

    origin: Replies
    transfer: Replies


@pytest.fixture
async def two() -> AsyncIterator[Two]:
    bus = MemoryBus()
    await bus.open()
    origin_inbox, transfer_inbox = NodeInbox(bus, "origin"), NodeInbox(bus, "transfer")
    origin = Replies(bus=bus, node_id="origin", inbox=origin_inbox, timeout_s=TIMEOUT)
    transfer = Replies(bus=bus, node_id="transfer", inbox=transfer_inbox, timeout_s=TIMEOUT)
    async with trio.open_nursery() as nursery:
        await nursery.start(origin_inbox.serve)
        await nursery.start(transfer_inbox.serve)
        yield Two(origin, transfer)
        nursery.cancel_scope.cancel()
    await bus.aclose()


def as_received(job: SendJob) -> SendJob:
    """The job as the transfer process sees it: decoded from the queue, nobody to call back."""
    return codec.decode_send(codec.encode_send(job))


async def test_outcomes_from_another_process_complete_the_waiting_jobs(two: Two) -> None:
    done: list[SendJob] = []
    stored, duplicate, failed = (new_job(c, done) for c in ("c1", "c2", "c3"))
    for job in (stored, duplicate, failed):
        two.origin.expect(job)
    assert len({stored.request_id, duplicate.request_id, failed.request_id}) == 3
    assert len(two.origin) == 3
    remote = [as_received(j) for j in (stored, duplicate, failed)]
    assert all(r.done is None and r.request_id for r in remote)
    remote[0].seq, remote[0].server_msg_id, remote[0].send_time = 5, "s-final", 2000
    remote[1].seq, remote[1].duplicate = 2, True
    remote[2].err_code, remote[2].err_detail = 90002, "storage unavailable"
    await two.transfer.complete(remote)  # one publish to the origin node
    await wait_for(done, 3)
    assert done == [stored, duplicate, failed]  # the origin's own objects, in batch order
    assert (stored.seq, stored.server_msg_id, stored.send_time, stored.err_code) == (5, "s-final", 2000, 0)
    assert stored.push is not None and stored.push.msg == with_seq(stored.payload, 5)  # the echo's message
    assert stored.push.operation_id == "op-c1"
    assert (duplicate.seq, duplicate.duplicate, duplicate.push) == (2, True, None)  # pushed when first stored
    assert (failed.err_code, failed.err_detail, failed.push) == (90002, "storage unavailable", None)
    assert len(two.origin) == 0


async def test_local_jobs_are_completed_directly(two: Two) -> None:
    done: list[SendJob] = []
    job = new_job("local", done)
    job.seq = 1
    await two.transfer.complete([job])  # no request id, a callback: this process's own send
    assert done == [job]
    assert job.done is None  # finished once
    await two.transfer.complete([job])
    assert done == [job]


async def test_an_overdue_job_is_answered_with_500_and_its_late_reply_is_ignored(two: Two) -> None:
    done: list[SendJob] = []
    late, fresh = new_job("late", done), new_job("fresh", done)
    two.origin.expect(late)
    now = time.monotonic()  # late's deadline is at most now + TIMEOUT
    assert two.origin.sweep(now) == 0 and done == []
    await trio.sleep(0.05)
    two.origin.expect(fresh)  # fresh's: at least now + 0.05 + TIMEOUT
    assert two.origin.sweep(now + TIMEOUT + 0.01) == 1  # only the older one is overdue by then
    assert done == [late]
    assert (late.err_code, late.push) == (500, None) and "retry" in late.err_detail
    assert len(two.origin) == 1
    remote = as_received(late)
    remote.seq = 9
    await two.transfer.complete([remote])
    await trio.sleep(0.1)
    assert done == [late] and late.seq == 0 and late.err_code == 500  # the retry dedupes to the stored one
    two.origin.forget(fresh)
    assert len(two.origin) == 0 and two.origin.sweep(now + 10 * TIMEOUT) == 0


async def test_a_failing_callback_costs_only_its_own_answer(two: Two) -> None:
    done: list[SendJob] = []

    def explode(job: SendJob) -> None:
        raise RuntimeError("bug in a callback")

    bad, good = new_job("bad", done), new_job("good", done)
    bad.done = explode
    await two.transfer.complete([bad, good])
    assert done == [good] and bad.done is None
    finish(bad)  # nothing left to call


async def test_a_reply_meant_for_a_previous_incarnation_completes_nothing() -> None:
    bus = MemoryBus()
    await bus.open()
    done: list[SendJob] = []
    async with trio.open_nursery() as nursery:
        before = Replies(bus=bus, node_id="origin", inbox=NodeInbox(bus, "origin"), timeout_s=TIMEOUT)
        old = new_job("old", done)
        before.expect(old)  # queued for the transfer stage, then this process died
        remote_old = as_received(old)
        inbox = NodeInbox(bus, "origin")  # the restarted process, same node id
        after = Replies(bus=bus, node_id="origin", inbox=inbox, timeout_s=TIMEOUT)
        await nursery.start(inbox.serve)
        new = new_job("new", done)
        after.expect(new)
        transfer = Replies(bus=bus, node_id="transfer", inbox=NodeInbox(bus, "transfer"), timeout_s=TIMEOUT)
        remote_old.seq = 3
        await transfer.complete([remote_old])  # the old item, stored by the transfer stage after the restart
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    await bus.aclose()
    assert done == []  # "new" is not stored yet: it must not be acked with "old"'s seq
