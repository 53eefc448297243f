"""Who may read a conversation: the one rule every path that reads messages or seqs asks.

A user reads a conversation's messages, seqs, read marks and times only if they own it:

- a chat conversation (``si_``, ``sn_``, ``sg_``, ``g_``) when they have a conversation row in it (the
  send path creates rows for both users of a pair and for every group member; leaving a group keeps
  the row, capped at the leaving seq, see :class:`openim.services.sync.Window`);
- a notification stream ``n_<rest>`` (which has no rows of its own) when they own one of the chat
  conversations whose twin it is (``si_<rest>``, ``sn_<rest>``, ``sg_<rest>``, ``g_<rest>``: an ``n_``
  ID does not say which), or when it is their own stream ``n_<uid>_<uid>``.

Anything else is answered as if the conversation did not exist: no messages, no max seq, no time.
The caller's identity (the token's user, or an admin acting for a user) is checked before; this decides
what that user may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from openim.storage.messages.records import UserConversation
from openim.storage.port import Store
from openim.wire.constants import (
    GROUP_PREFIX,
    NOTIFICATION_CHAT_PREFIX,
    NOTIFICATION_PREFIX,
    SINGLE_PREFIX,
    WRITE_GROUP_PREFIX,
    is_notification_conversation,
    self_notification_conversation_id,
)

__all__ = ["Readable", "chat_twins", "readable"]

_CHAT_PREFIXES = (SINGLE_PREFIX, NOTIFICATION_CHAT_PREFIX, GROUP_PREFIX, WRITE_GROUP_PREFIX)


def chat_twins(notification_id: str) -> tuple[str, ...]:
    """The chat conversations whose notification stream ``notification_id`` may be."""
    rest = notification_id.removeprefix(NOTIFICATION_PREFIX)
    return tuple(prefix + rest for prefix in _CHAT_PREFIXES)


@dataclass(frozen=True, slots=True)
class Readable:
    """What one user may read among the conversations asked about."""

    rows: Mapping[str, UserConversation]  # owned chat conversations -> the user's row
    streams: frozenset[str]  # owned notification streams

    def allows(self, conversation_id: str) -> bool:
        return conversation_id in self.rows or conversation_id in self.streams

    def row(self, conversation_id: str) -> UserConversation | None:
        return self.rows.get(conversation_id)


async def readable(store: Store, user_id: str, conversation_ids: Iterable[str]) -> Readable:
    """Which of ``conversation_ids`` ``user_id`` owns, with one read of the user's rows."""
    ids = [c for c in dict.fromkeys(conversation_ids) if c]
    streams = [c for c in ids if is_notification_conversation(c)]
    wanted = [c for c in ids if not is_notification_conversation(c)]
    for stream in streams:
        wanted.extend(chat_twins(stream))
    rows = (
        {r.conversation_id: r for r in await store.get_user_conversations(user_id, list(dict.fromkeys(wanted)))}
        if wanted
        else {}
    )
    own_stream = self_notification_conversation_id(user_id)
    owned_streams = frozenset(
        s for s in streams if s == own_stream or any(twin in rows for twin in chat_twins(s))
    )
    return Readable({c: rows[c] for c in ids if c in rows}, owned_streams)
