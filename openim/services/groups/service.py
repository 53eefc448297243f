"""GroupService: OpenIM's group service (its /group routes, sync and notifications), the one class the rest
of the server constructs and calls, composed of the parts of this package over GroupBase, which holds the
collaborators:

* **Rules.** Who may do what (owner 100, admin 60, ordinary 20, non-member, app admin), with OpenIM's
  codes: access.py (the rules that need no store) and base.py (the operator's rights in a group).
* **Change + log + notification.** The store writes each change with its version-log entries and the
  members' ``sg_`` conversation rows in one transaction and returns the member-log version after it;
  lifecycle.py (the group), membership.py (its members) and requests.py (applications) make the changes,
  notifications.py tells the clients, callbacks.py gives the business backend its callbacks.
* **Incremental sync.** sync.py answers from the version logs (the rule in openim.services.versioning).
* **The hot path.** Every group message asks ``check_group_send`` (membership, mute), the transfer stage
  asks ``member_ids`` (conversation owners) and the push stage ``push_audience``: directory.py, a member
  list cached per group. Changes made in this process invalidate it at once, other processes see them
  within ``CACHE_TTL_S``; presence is then looked up once per push batch by the push stage.
"""

from __future__ import annotations

from openim.services.groups.lifecycle import GroupLifecycle
from openim.services.groups.membership import GroupMembership
from openim.services.groups.requests import GroupRequests
from openim.services.groups.sync import GroupSync


class GroupService(GroupLifecycle, GroupMembership, GroupRequests, GroupSync):
    """The group service: constructed as ``GroupService(store, notifier, send, users, directory=...,
    webhooks=...)`` (GroupBase), with the operations of each part."""
