"""Domain services: the OpenIM behaviour behind the REST routes and the gateway requests.

They talk to the Store and Bus ports only. ``build_services`` wires them for one process; it imports them
lazily so that importing one service (in a test, say) does not pull in all the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openim.cluster.coherence import CacheCoherence
    from openim.node import Node
    from openim.objects import ObjectService
    from openim.offline_push.devices import DeviceRegistry
    from openim.services.conversations import ConversationService
    from openim.services.groups import GroupService
    from openim.services.inbox import NodeInbox
    from openim.services.message_ops import MessageOps
    from openim.services.notify import Notifier
    from openim.services.relations import RelationService
    from openim.services.send import SendService
    from openim.services.sync import SyncService
    from openim.services.tokens import TokenService
    from openim.services.users import UserService
    from openim.webhooks.dispatcher import Webhooks


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
    objects: ObjectService
    devices: DeviceRegistry
    webhooks: Webhooks
    coherence: CacheCoherence | None = None  # cluster mode: cache invalidations reach every process


def build_services(node: Node) -> Services:
    from openim.objects import ObjectService, make_backend
    from openim.offline_push.devices import DeviceRegistry
    from openim.services import field_limits
    from openim.services.conversations import ConversationService
    from openim.services.groups import GroupService
    from openim.services.inbox import NodeInbox
    from openim.services.message_ops import MessageOps
    from openim.services.notify import Notifier
    from openim.services.relations import RelationService
    from openim.services.send import SendService
    from openim.services.send_rules import SendRules
    from openim.services.sync import SyncService
    from openim.services.tokens import TokenService
    from openim.services.users import UserService
    from openim.webhooks import attach_webhooks
    from openim.webhooks.dispatcher import Webhooks

    cfg = node.config
    field_limits.configure(cfg.field_limits)
    inbox = NodeInbox(node.bus, node.node_id)
    tokens = TokenService(cfg.secret, cfg.auth, node.store, node.bus)
    users = UserService(node.store, cfg.auth)
    send = SendService(
        store=node.store, bus=node.bus, inbox=inbox, node_id=node.node_id, messaging=cfg.messaging,
        metrics=node.metrics, reply_timeout_s=cfg.cluster.send_timeout,
    )
    notifier = Notifier(send)
    sync = SyncService(node.store)
    relations = RelationService(node.store, notifier, send, users, cfg.messaging)
    groups = GroupService(node.store, notifier, send, users)
    send.set_policy(SendRules(relations, groups))
    webhooks = Webhooks(cfg.webhooks)
    attach_webhooks(webhooks, send=send, relations=relations, groups=groups)
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
        objects=ObjectService(node.store, make_backend(cfg), cfg.object_storage),
        devices=DeviceRegistry(node.store),
        webhooks=webhooks,
    )
    if cfg.bus.backend == "redis":
        from openim.cluster.coherence import CacheCoherence

        services.coherence = CacheCoherence(node.bus, node.node_id, inbox)
        services.coherence.watch(
            tokens, users, send, relations, groups, services.conversations, services.message_ops
        )
    return services
