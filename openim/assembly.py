"""The composition root of a process: every service constructed once, in dependency order, with its
collaborators passed in (no setters, no attribute patching), then the modules the process runs around
them (build_modules). openim.app opens the ports, asks this module for the modules and runs them.

Imports of the services are inside the builders, so that importing one service (in a test, say) does
not pull in every other. Nothing imports this module but openim.app: the edges (routes, gateway,
console) receive the built services typed by openim.service_set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openim.service_set import Pipeline, Services

if TYPE_CHECKING:
    from openim.hook_queue import HookQueue
    from openim.internode.inbox import NodeInbox
    from openim.node import Node
    from openim.pipeline.msg import SendService
    from openim.pipeline.push import LocalDelivery
    from openim.runtime import Module
    from openim.services.groups.directory import GroupDirectory
    from openim.services.relation_rules import RelationRules
    from openim.ttl_cache import CacheRegistry
    from openim.webhooks.dispatcher import Webhooks


def build_services(node: Node) -> Services:
    from openim.internode.inbox import NodeInbox
    from openim.objects import ObjectService, make_backend
    from openim.offline_push.devices import DeviceRegistry
    from openim.services import field_limits
    from openim.services.admin_reports import AdminReports
    from openim.services.client_configs import ClientConfigService
    from openim.services.client_logs import ClientLogService
    from openim.services.conversations import ConversationService
    from openim.services.groups.directory import GroupDirectory
    from openim.services.groups.service import GroupService
    from openim.services.message_service import MessageOps
    from openim.services.notification_accounts import NotificationAccountService
    from openim.services.notify import Notifier
    from openim.services.presence import PresenceService
    from openim.services.profiles import ProfileService
    from openim.services.relation_rules import RelationRules
    from openim.services.relations import RelationService
    from openim.services.sessions import SessionService
    from openim.services.sync import SyncService
    from openim.services.tokens import TokenService
    from openim.services.user_commands import UserCommandService
    from openim.services.users import UserService
    from openim.ttl_cache import CacheRegistry
    from openim.webhooks.dispatcher import Webhooks

    cfg = node.config
    field_limits.configure(cfg.field_limits)
    inbox = NodeInbox(node.bus, node.node_id)
    tokens = TokenService(cfg.secret, cfg.auth, node.store, node.bus)
    pipeline = build_pipeline(node, inbox)
    # Built in dependency order, each with its collaborators: the send path's rules read the relation
    # lists and the group directory (caches their services invalidate), not the services themselves, so
    # the msg stage exists before the services that send notifications through it. Every cache that must
    # stay coherent across a cluster is made through this one registry, under the name of its read.
    caches = CacheRegistry()
    webhooks = Webhooks(cfg.webhooks, queue=hook_queue(node), consumer=node.node_id, metrics=node.metrics)
    hooked = webhooks if webhooks.active else None  # nothing to call: the send path pays nothing
    relation_rules = RelationRules(node.store, cfg.messaging, caches)
    group_directory = GroupDirectory(node.store, caches)
    send = build_send(node, pipeline, caches, webhooks, relation_rules, group_directory)
    users = UserService(node.store, cfg.auth, send, webhooks=hooked)  # drops the send path's copy of a user it changes
    notifier = Notifier(send)
    sync = SyncService(node.store)
    relations = RelationService(node.store, notifier, send, users, cfg.messaging, rules=relation_rules, webhooks=hooked)
    groups = GroupService(node.store, notifier, send, users, directory=group_directory, webhooks=hooked)
    services = Services(
        inbox=inbox,
        tokens=tokens,
        users=users,
        send=send,
        notifier=notifier,
        sync=sync,
        conversations=ConversationService(node.store, sync, notifier, send),
        message_ops=MessageOps(node.store, sync, notifier, send, users, webhooks=hooked),
        relations=relations,
        groups=groups,
        profiles=ProfileService(users, notifier, relations, webhooks=hooked),
        user_commands=UserCommandService(node.store, users, notifier),
        notification_accounts=NotificationAccountService(node.store, users),
        presence=PresenceService(node.bus, node.store),
        sessions=SessionService(
            tokens, users, node.store, node.bus, node.guards, node_id=node.node_id,
            local_gateway="gateway" in node.modules,
        ),
        objects=ObjectService(node.store, make_backend(cfg), cfg.object_storage),
        devices=DeviceRegistry(node.store),
        client_configs=ClientConfigService(node.store, users),
        client_logs=ClientLogService(node.store),
        reports=AdminReports(node.store),
        webhooks=webhooks,
        pipeline=pipeline,
        caches=caches,
    )
    if cfg.bus.backend == "redis":
        from openim.cluster.coherence import CacheCoherence

        services.coherence = CacheCoherence(node.bus, node.node_id, inbox, caches)
    return services


def build_send(
    node: Node,
    pipeline: Pipeline,
    caches: CacheRegistry,
    webhooks: Webhooks,
    relation_rules: RelationRules,
    group_directory: GroupDirectory,
) -> SendService:
    """The msg stage's front (SendService): its rules read the relation lists and the group directory."""
    from openim.pipeline.msg import SendService
    from openim.services.send_rules import SendRules
    from openim.webhooks.messages import MESSAGE_HOOKS, MessageHooks

    return SendService(
        store=node.store, sends=pipeline.sends, pushes=pipeline.pushes, replies=pipeline.replies,
        in_process=pipeline.in_process, node_id=node.node_id, messaging=node.config.messaging,
        metrics=node.metrics, caches=caches, policy=SendRules(relation_rules, group_directory),
        # Only with a message callback enabled: with hooks the send path leaves its fast path.
        hooks=MessageHooks(webhooks) if any(webhooks.enabled(h) for h in MESSAGE_HOOKS) else None,
    )


def hook_queue(node: Node) -> HookQueue:
    """Where after-callbacks wait: the Store with the in-process bus (one process, on SQLite or PostgreSQL),
    a Redis stream in a cluster, so that any process delivers what any other queued and takes over the
    entries of a process that died."""
    from openim.bus.redis import RedisBus

    if isinstance(node.bus, RedisBus):  # bus.backend: redis
        return node.bus.hook_queue()
    return node.store


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
        bus=node.bus,
        topic=TRANSFER_TOPIC,
        partitions=parts,
        owner=node.node_id,
        max_items=batch,
        encode=codec.encode_send,
        decode=codec.decode_send,
        lease_ttl_s=lease,
    )
    pushes = BusHandoff[PushJob](
        bus=node.bus,
        topic=PUSH_TOPIC,
        partitions=parts,
        owner=node.node_id,
        max_items=batch,
        encode=codec.encode_push,
        decode=codec.decode_push,
        lease_ttl_s=lease,
    )
    return Pipeline(sends, pushes, replies, False)


def build_modules(node: Node, services: Services) -> list[Module]:
    """The chosen modules in start order: consumers first, listeners last.

    Every process runs its inbox and the registry heartbeat; in a cluster the cache coherence task; with
    any callback configured, the after-callback workers."""
    from openim.cluster.registry import RegistryHeartbeat

    modules: list[Module] = [services.inbox, RegistryHeartbeat(node)]
    if services.coherence is not None:
        modules.append(services.coherence)  # cluster: cache invalidations to and from the other processes
    if services.webhooks.active:
        modules.append(services.webhooks)  # after-callback workers, for every module that fires callbacks
    gateway = None
    if "gateway" in node.modules:
        from openim.cluster.discovery import advertised_address
        from openim.gateway.module import gateway_module

        gateway = gateway_module(node, services)
        node.addresses["gateway"] = advertised_address(node.config, node.config.gateway.host, node.config.gateway.port)
    modules.extend(_send_path_modules(node, services, gateway))
    if gateway is not None:
        modules.append(gateway)
    modules.extend(_http_modules(node, services))
    return modules


def _send_path_modules(node: Node, services: Services, gateway: LocalDelivery | None) -> list[Module]:
    """The replies' time-outs, and the transfer, offline push and push stages this process runs."""
    pipeline = services.pipeline
    modules: list[Module] = [pipeline.replies]  # remote sends' answers and their time-outs
    offline = None
    if "push" in node.modules and node.config.offline_push.provider_names:
        from openim.offline_push.sender import OfflinePusher

        # Started before the push stage: a misconfigured provider stops the process at start.
        offline = OfflinePusher(
            node.config.offline_push,
            services.devices,
            webhooks=services.webhooks,
            muted_owners=services.conversations.muted_owners,
        )
    push_stage = None
    gate = None
    if "push" in node.modules:
        from openim.pipeline.push import PushStage

        hooks = services.webhooks
        if hooks.enabled("beforeOnlinePush") or hooks.enabled("beforeGroupOnlinePush"):
            from openim.webhooks.pushes import PushHooks

            gate = PushHooks(hooks)
        push_stage = PushStage(
            bus=node.bus,
            pushes=pipeline.pushes,
            node_id=node.node_id,
            metrics=node.metrics,
            audience=services.groups.directory.push_audience,
            offline=offline,
            local=gateway,
            all_local=pipeline.in_process,
            gate=gate,
        )
    if "transfer" in node.modules:
        from openim.pipeline.transfer import TransferStage

        observer = None
        hooks = services.webhooks
        if any(hooks.enabled(f"{when}Create{kind}ChatConversations") for when in ("before", "after")
               for kind in ("Single", "Group")):
            from openim.services.conversation_callbacks import NewConversationHooks

            observer = NewConversationHooks(hooks, services.conversations)
            modules.append(observer)  # its task asks the receiver; the transfer stage only queues

        # One process: the stored batch is fanned out by the transfer task itself, right after its
        # answers, so a connection's replies, echoes and pushes of one batch leave in one write. Not when
        # a push callback must be asked first: the push stage's own task waits for the receiver then, so
        # a slow receiver never holds up the storing of messages.
        inline = pipeline.in_process and push_stage is not None and gate is None
        fan_out = push_stage.fan_out if inline and push_stage is not None else None
        modules.append(
            TransferStage(
                store=node.store,
                sends=pipeline.sends,
                pushes=pipeline.pushes,
                replies=pipeline.replies,
                node_id=node.node_id,
                metrics=node.metrics,
                fan_out=fan_out,
                observer=observer,
            )
        )
    if offline is not None:
        modules.append(offline)
    if push_stage is not None:
        modules.append(push_stage)
    return modules


def _http_modules(node: Node, services: Services) -> list[Module]:
    """The API (with the console's pages, after the sweepers of what it writes), or, without it, the ops
    listener: /healthz, /readyz and /metrics are served either way."""
    from openim.cluster.discovery import advertised_address
    from openim.http.health import Probe

    probes: list[Probe] = [("store", node.store.ping), ("bus", node.bus.ping)]
    if "api" not in node.modules:
        from starlette.applications import Starlette

        from openim.http.health import ops_routes
        from openim.http.server import HttpModule

        ops = node.config.ops
        node.addresses["ops"] = advertised_address(node.config, ops.host, ops.port)
        return [HttpModule("ops", Starlette(routes=ops_routes(node.metrics, probes)), ops.host, ops.port)]
    from openim.api.app import api_module
    from openim.console import console_routes
    from openim.objects import UploadSweeper
    from openim.services.token_sweeper import TokenSweeper

    node.addresses["api"] = advertised_address(node.config, node.config.api.host, node.config.api.port)
    return [
        UploadSweeper(services.objects),  # checks the object backend at start, then sweeps
        TokenSweeper(node.store, node.bus, node.config.auth, node.node_id),
        # /admin (operators' console), /demo (web client), /ui (their assets) share the API's port.
        api_module(node, services, probes, console_routes(node, services)),
    ]
