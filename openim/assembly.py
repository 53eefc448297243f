"""The composition root of a process's services: every service constructed once, in dependency order,
with its collaborators passed in (no setters, no attribute patching). openim.app asks it for the
services and the send path's hand-offs, then builds the modules a process runs around them.

Imports of the services are inside the builders, so that importing one service (in a test, say) or the
``Services`` type (in a route module) does not pull in every other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openim.cluster.coherence import CacheCoherence
    from openim.internode.inbox import NodeInbox
    from openim.node import Node
    from openim.objects import ObjectService
    from openim.offline_push.devices import DeviceRegistry
    from openim.pipeline.handoff import Handoff
    from openim.pipeline.jobs import PushJob, SendJob
    from openim.pipeline.msg import SendService
    from openim.pipeline.replies import Replies
    from openim.services.conversations import ConversationService
    from openim.services.groups import GroupService
    from openim.services.message_ops import MessageOps
    from openim.services.notify import Notifier
    from openim.services.presence import PresenceService
    from openim.services.profiles import ProfileService
    from openim.services.relations import RelationService
    from openim.services.sessions import SessionService
    from openim.services.sync import SyncService
    from openim.services.tokens import TokenService
    from openim.services.users import UserService
    from openim.webhooks.dispatcher import Webhooks


@dataclass
class Pipeline:
    """The send path's hand-offs, shared by the msg stage and the transfer and push stages."""

    sends: Handoff[SendJob]
    pushes: Handoff[PushJob]
    replies: Replies
    in_process: bool  # memory hand-offs: the stages pass objects, all in this process


@dataclass
class Services:
    inbox: NodeInbox
    tokens: TokenService
    users: UserService
    send: SendService
    notifier: Notifier
    sync: SyncService
    conversations: ConversationService
    message_ops: MessageOps
    relations: RelationService
    groups: GroupService
    profiles: ProfileService
    presence: PresenceService
    sessions: SessionService
    objects: ObjectService
    devices: DeviceRegistry
    webhooks: Webhooks
    pipeline: Pipeline
    coherence: CacheCoherence | None = None  # cluster mode: cache invalidations reach every process


def build_services(node: Node) -> Services:
    from openim.internode.inbox import NodeInbox
    from openim.objects import ObjectService, make_backend
    from openim.offline_push.devices import DeviceRegistry
    from openim.pipeline.msg import SendService
    from openim.services import field_limits
    from openim.services.conversations import ConversationService
    from openim.services.group_directory import GroupDirectory
    from openim.services.groups import GroupService
    from openim.services.message_ops import MessageOps
    from openim.services.notify import Notifier
    from openim.services.presence import PresenceService
    from openim.services.profiles import ProfileService
    from openim.services.relation_rules import RelationRules
    from openim.services.relations import RelationService
    from openim.services.send_rules import SendRules
    from openim.services.sessions import SessionService
    from openim.services.sync import SyncService
    from openim.services.tokens import TokenService
    from openim.services.users import UserService
    from openim.webhooks.dispatcher import Webhooks
    from openim.webhooks.messages import MessageHooks

    cfg = node.config
    field_limits.configure(cfg.field_limits)
    inbox = NodeInbox(node.bus, node.node_id)
    tokens = TokenService(cfg.secret, cfg.auth, node.store, node.bus)
    pipeline = build_pipeline(node, inbox)
    # Built in dependency order, each with its collaborators: the send path's rules read the relation
    # lists and the group directory (caches their services invalidate), not the services themselves, so
    # the msg stage exists before the services that send notifications through it.
    webhooks = Webhooks(cfg.webhooks)
    hooked = webhooks if webhooks.active else None  # nothing to call: the send path pays nothing
    relation_rules = RelationRules(node.store, cfg.messaging)
    group_directory = GroupDirectory(node.store)
    send = SendService(
        store=node.store, sends=pipeline.sends, pushes=pipeline.pushes, replies=pipeline.replies,
        in_process=pipeline.in_process, node_id=node.node_id, messaging=cfg.messaging, metrics=node.metrics,
        policy=SendRules(relation_rules, group_directory),
        hooks=MessageHooks(webhooks) if hooked is not None else None,
    )
    users = UserService(node.store, cfg.auth, send)
    notifier = Notifier(send)
    sync = SyncService(node.store)
    relations = RelationService(
        node.store, notifier, send, users, cfg.messaging, rules=relation_rules, webhooks=hooked
    )
    groups = GroupService(node.store, notifier, send, users, directory=group_directory, webhooks=hooked)
    services = Services(
        inbox=inbox,
        tokens=tokens,
        users=users,
        send=send,
        notifier=notifier,
        sync=sync,
        conversations=ConversationService(node.store, sync, notifier, send),
        message_ops=MessageOps(node.store, sync, notifier, send, users),
        relations=relations,
        groups=groups,
        profiles=ProfileService(users, notifier, relations),
        presence=PresenceService(node.bus, node.store),
        sessions=SessionService(
            tokens, users, node.store, node.bus, node.guards, node_id=node.node_id,
            local_gateway="gateway" in node.modules,
        ),
        objects=ObjectService(node.store, make_backend(cfg), cfg.object_storage),
        devices=DeviceRegistry(node.store),
        webhooks=webhooks,
        pipeline=pipeline,
    )
    if cfg.bus.backend == "redis":
        from openim.cluster.coherence import CacheCoherence

        services.coherence = CacheCoherence(node.bus, node.node_id, inbox)
        services.coherence.watch(
            tokens, users, send, relation_rules, group_directory, relations, groups, services.conversations,
            services.message_ops,
        )
    return services


def build_pipeline(node: Node, inbox: NodeInbox) -> Pipeline:
    """Memory hand-offs with the in-process bus (one process holds every stage), the Bus's
    partitioned queues otherwise."""
    from openim.pipeline import codec
    from openim.pipeline.handoff import BusHandoff, MemoryHandoff
    from openim.pipeline.jobs import PushJob, SendJob
    from openim.pipeline.msg import PUSH_TOPIC, TRANSFER_TOPIC
    from openim.pipeline.replies import Replies

    cfg = node.config
    replies = Replies(bus=node.bus, node_id=node.node_id, inbox=inbox, timeout_s=float(cfg.cluster.send_timeout))
    batch = cfg.messaging.batch_max
    if cfg.bus.backend == "memory":
        return Pipeline(MemoryHandoff[SendJob](max_items=batch), MemoryHandoff[PushJob](max_items=batch), replies, True)
    parts, lease = cfg.messaging.transfer_partitions, float(cfg.cluster.lease_ttl)
    sends = BusHandoff[SendJob](
        bus=node.bus, topic=TRANSFER_TOPIC, partitions=parts, owner=node.node_id, max_items=batch,
        encode=codec.encode_send, decode=codec.decode_send, lease_ttl_s=lease,
    )
    pushes = BusHandoff[PushJob](
        bus=node.bus, topic=PUSH_TOPIC, partitions=parts, owner=node.node_id, max_items=batch,
        encode=codec.encode_push, decode=codec.decode_push, lease_ttl_s=lease,
    )
    return Pipeline(sends, pushes, replies, False)
