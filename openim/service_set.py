"""What a process holds once assembled: its services and the send path's hand-offs, as two typed sets.

The edges (REST routes, the gateway, the console) receive a ``Services`` and call into it; they import
this module for the type, never the composition root (openim.assembly) that builds it, so the root may
import every edge without a loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openim.cluster.coherence import CacheCoherence
    from openim.internode.inbox import NodeInbox
    from openim.objects import ObjectService
    from openim.offline_push.devices import DeviceRegistry
    from openim.pipeline.handoff import Handoff
    from openim.pipeline.jobs import PushJob, SendJob
    from openim.pipeline.msg import SendService
    from openim.pipeline.replies import Replies
    from openim.services.admin_reports import AdminReports
    from openim.services.client_configs import ClientConfigService
    from openim.services.client_logs import ClientLogService
    from openim.services.conversations import ConversationService
    from openim.services.groups.service import GroupService
    from openim.services.message_service import MessageOps
    from openim.services.notification_accounts import NotificationAccountService
    from openim.services.notify import Notifier
    from openim.services.presence import PresenceService
    from openim.services.profiles import ProfileService
    from openim.services.relations import RelationService
    from openim.services.sessions import SessionService
    from openim.services.sync import SyncService
    from openim.services.tokens import TokenService
    from openim.services.user_commands import UserCommandService
    from openim.services.users import UserService
    from openim.ttl_cache import CacheRegistry
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
    user_commands: UserCommandService
    notification_accounts: NotificationAccountService
    presence: PresenceService
    sessions: SessionService
    objects: ObjectService
    client_configs: ClientConfigService
    devices: DeviceRegistry
    client_logs: ClientLogService
    reports: AdminReports  # the admin panel's search and statistics
    webhooks: Webhooks
    pipeline: Pipeline
    caches: CacheRegistry  # the named read caches (openim.ttl_cache); coherent across a cluster
    coherence: CacheCoherence | None = None  # cluster mode: cache invalidations reach every process
