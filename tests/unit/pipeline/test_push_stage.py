"""The push stage's fan-out: one frame per message for all its recipients, local connections written
directly, other nodes one payload each per batch, group audiences resolved, offline recipients handed
to the offline sink, the sending connection excluded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest
import trio

from openim.bus.memory import MemoryBus
from openim.bus.port import PresenceEntry
from openim.internode.payloads import KIND_DELIVERIES, decode_deliveries
from openim.ops.metrics import Metrics
from openim.pipeline.handoff import MemoryHandoff
from openim.pipeline.jobs import PushJob
from openim.pipeline.push import PushStage
from openim.wire.pb import sdkws_pb2

pytestmark = pytest.mark.trio

NODE = "n1"


@dataclass
class FakeLocal:
    """The gateway of this process: ``connected`` users have one connection each here."""

    connected: set[str]
    delivered: list[tuple[bytes, tuple[str, ...], str]] = field(default_factory=list)

    def deliver(self, frame: bytes, user_ids: Sequence[str], exclude_conn: str) -> int:
        self.delivered.append((frame, tuple(user_ids), exclude_conn))
        return sum(1 for u in user_ids if u in self.connected)

    def presence(self, user_ids: Sequence[str]) -> dict[str, list[PresenceEntry]]:
        return {u: [PresenceEntry(u, NODE, 5, f"{u}-c")] for u in user_ids if u in self.connected}


@dataclass
class FakeOffline:
    calls: list[tuple[list[PushJob], list[tuple[str, ...]], dict[str, list[PresenceEntry]]]] = field(
        default_factory=list
    )

    def submit_offline(
        self,
        pushes: Sequence[PushJob],
        audiences: Sequence[tuple[str, ...]],
        presence: Mapping[str, Sequence[PresenceEntry]],
    ) -> None:
        self.calls.append((list(pushes), list(audiences), {u: list(e) for u, e in presence.items()}))


def msg_bytes(**fields: object) -> bytes:
    msg = sdkws_pb2.MsgData(sendID="alice", clientMsgID="c", sessionType=1, contentType=101, seq=1)
    for key, value in fields.items():
        setattr(msg, key, value)
    return bytes(msg.SerializeToString())


async def members(msg: sdkws_pb2.MsgData) -> list[str]:
    assert msg.groupID == "g1"
    return ["alice", "bob", "carol"]


async def test_one_process_writes_local_connections_with_one_frame_per_message() -> None:
    bus = MemoryBus()
    await bus.open()
    local, offline = FakeLocal({"alice", "bob"}), FakeOffline()
    stage = PushStage(
        bus=bus, pushes=MemoryHandoff[PushJob](max_items=10), node_id=NODE, metrics=Metrics(NODE, ("push",)),
        audience=members, offline=offline, local=local, all_local=True,
    )
    single = PushJob("si_alice_bob", msg_bytes(recvID="bob"), "op-1", exclude_conn=f"{NODE}/a1",
                     recipients=("bob", "alice"))
    group = PushJob("sg_g1", msg_bytes(groupID="g1", sessionType=3), "op-2", group_id="g1")
    await stage.fan_out([single, group])
    assert local.delivered == [
        (single.frame, ("bob", "alice"), f"{NODE}/a1"),
        (group.frame, ("alice", "bob", "carol"), ""),
    ]
    assert local.delivered[0][0] is single.frame  # encoded once, shared
    [(jobs, audiences, presence)] = offline.calls
    assert jobs == [single, group] and audiences == [("bob", "alice"), ("alice", "bob", "carol")]
    assert sorted(presence) == ["alice", "bob"]  # carol has no connection: the sink sends her a device push
    await bus.aclose()


async def test_a_cluster_writes_local_users_directly_and_publishes_one_payload_per_other_node() -> None:
    bus = MemoryBus()
    await bus.open()
    await bus.presence_add(
        [PresenceEntry("bob", NODE, 5, "b1"), PresenceEntry("alice", "n2", 2, "a2"),
         PresenceEntry("carol", "n2", 5, "c2")],
        ttl_s=60,
    )
    local = FakeLocal({"bob"})
    stage = PushStage(
        bus=bus, pushes=MemoryHandoff[PushJob](max_items=10), node_id=NODE, metrics=Metrics(NODE, ("push",)),
        audience=members, local=local,
    )
    first = PushJob("si_alice_bob", msg_bytes(recvID="bob"), "op-1", exclude_conn="n2/a2", recipients=("bob", "alice"))
    second = PushJob("sg_g1", msg_bytes(groupID="g1", sessionType=3), "op-2", group_id="g1")
    async with bus.subscribe("n2") as inbox:
        await stage.fan_out([first, second])
        with trio.fail_after(5):
            payload = await inbox.__anext__()
    assert local.delivered == [(first.frame, ("bob",), "n2/a2"), (second.frame, ("bob",), "")]
    assert payload[:1] == KIND_DELIVERIES  # the batch's deliveries for n2 in one publish, in order
    deliveries = decode_deliveries(payload[1:])
    assert [(d.frame, d.user_ids, d.exclude_conn) for d in deliveries] == [
        (first.frame, ("alice",), "n2/a2"),
        (second.frame, ("alice", "carol"), ""),
    ]
    await bus.aclose()


async def test_the_stage_consumes_its_handoff() -> None:
    bus = MemoryBus()
    await bus.open()
    local = FakeLocal({"bob"})
    pushes = MemoryHandoff[PushJob](max_items=10)
    stage = PushStage(bus=bus, pushes=pushes, node_id=NODE, metrics=Metrics(NODE, ("push",)), local=local,
                      all_local=True)
    job = PushJob("si_alice_bob", msg_bytes(recvID="bob"), "op", recipients=("bob",))
    async with trio.open_nursery() as nursery:
        await nursery.start(stage.serve)
        await pushes.put(0, [job])
        with trio.fail_after(5):
            while not local.delivered:
                await trio.sleep(0.01)
        await stage.drain()
        nursery.cancel_scope.cancel()
    assert local.delivered == [(job.frame, ("bob",), "")]
    await bus.aclose()
