"""The Store port, part two: friends, friend requests and blacklists.

Conventions of openim.storage.port apply. Methods that change friendships also write the owner's
friend version log (kind FRIEND, d_id = owner, e_id = friend) in the same transaction and return the
log header after the change, so the caller can put ``friendVersion``/``friendVersionID`` in the
notification without a second read. Blacklist changes write the owner's blacklist log (kind BLACK,
e_id = the blocked user) the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from openim.storage.messages.records import VersionLog
from openim.storage.relations.records import (
    AcceptOutcome,
    BlackRecord,
    FriendPatch,
    FriendRecord,
    FriendRequestRecord,
    FriendsAdded,
)


class RelationStore(Protocol):
    """Friend, friend-request and blacklist storage; see openim.storage.relations.records."""

    # -- friends ------------------------------------------------------------------------------------
    async def get_friends(self, owner_user_id: str, friend_user_ids: Sequence[str] | None = None) -> list[FriendRecord]:
        """All of the owner's friends (pinned first, then oldest first), or the listed ones that are
        friends, in request order."""

    async def page_friends(self, owner_user_id: str, *, offset: int, limit: int) -> tuple[int, list[FriendRecord]]:
        """(total, one page) in get_friends' order."""

    async def get_friend_ids(self, owner_user_id: str) -> list[str]:
        """The owner's friend IDs, oldest friendship first."""

    async def get_friend_owners(self, friend_user_id: str) -> list[str]:
        """Users who have ``friend_user_id`` in their friend list (sorted)."""

    async def add_friends(self, rows: Sequence[FriendRecord]) -> FriendsAdded:
        """Insert the rows whose (owner, friend) pair does not exist yet (existing ones are not touched);
        an insert entry in each gaining owner's friend log."""

    async def delete_friend(self, owner_user_id: str, friend_user_id: str) -> VersionLog | None:
        """Delete one direction of a friendship and log it; None (nothing logged) if it did not exist."""

    async def update_friends(
        self, owner_user_id: str, friend_user_ids: Sequence[str], patch: FriendPatch
    ) -> VersionLog | None:
        """Set the fields ``patch`` sets on the listed friendships and log an update for each (plus the
        sort marker when it sets ``is_pinned``); None if none of them exists or the patch is empty."""

    # -- friend requests ----------------------------------------------------------------------------
    async def upsert_friend_request(self, request: FriendRequestRecord) -> None:
        """Store the request, replacing the pair's previous one (whatever its state)."""

    async def get_friend_requests_between(self, user_a: str, user_b: str) -> list[FriendRequestRecord]:
        """The requests a -> b and b -> a that exist (a -> b first)."""

    async def page_friend_requests(
        self,
        user_id: str,
        *,
        received: bool,
        handle_results: Sequence[int] = (),
        offset: int,
        limit: int,
    ) -> tuple[int, list[FriendRequestRecord]]:
        """Requests received by (or sent by) the user, newest first, optionally only those whose
        handle_result is listed; (total, one page)."""

    async def count_pending_friend_requests(self, to_user_id: str, since_ms: int = 0) -> int:
        """How many requests to the user wait for an answer (made after ``since_ms`` when it is not 0)."""

    async def accept_friend_request(
        self,
        from_user_id: str,
        to_user_id: str,
        *,
        handler_user_id: str,
        handle_msg: str,
        now_ms: int,
        add_source: int,
    ) -> AcceptOutcome | None:
        """In one transaction: mark the pending request from -> to agreed (and a pending reverse request
        too), create the missing friendship rows in both directions and log them. None if there is no
        pending request from -> to (missing, or handled meanwhile)."""

    async def refuse_friend_request(
        self, from_user_id: str, to_user_id: str, *, handler_user_id: str, handle_msg: str, now_ms: int
    ) -> FriendRequestRecord | None:
        """Mark the pending request refused; None if there is no pending request."""

    # -- blacklists ---------------------------------------------------------------------------------
    async def add_black(self, black: BlackRecord) -> bool:
        """Insert, with an insert entry in the owner's BLACK log; False (nothing changed, nothing logged)
        if the pair is blacklisted already."""

    async def remove_black(self, owner_user_id: str, block_user_id: str) -> bool:
        """Delete, with a delete entry in the owner's BLACK log; False if the pair was not blacklisted."""

    async def get_blacks(self, owner_user_id: str, block_user_ids: Sequence[str] | None = None) -> list[BlackRecord]:
        """The whole blacklist (oldest first), or the listed users that are on it, in request order."""

    async def page_blacks(self, owner_user_id: str, *, offset: int, limit: int) -> tuple[int, list[BlackRecord]]: ...
