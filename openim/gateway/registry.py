"""This node's index of live sessions: by connection, by user, and who watches whom (2005).

Everything here is synchronous and in memory, because inbox handlers look it up for every push and
must not block. The bus holds the cluster-wide view (presence); this is only what this process holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from openim.gateway.session import Session

__all__ = ["LocalSessions"]


class LocalSessions:
    def __init__(self) -> None:
        self._by_conn: dict[str, Session] = {}
        self._by_user: dict[str, dict[str, Session]] = {}
        self._subs: dict[str, set[str]] = {}  # conn_id -> watched user ids
        self._watchers: dict[str, set[str]] = {}  # watched user id -> conn_ids

    def __len__(self) -> int:
        return len(self._by_conn)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._by_conn.values()))

    @property
    def user_count(self) -> int:
        return len(self._by_user)

    def get(self, conn_id: str) -> Session | None:
        return self._by_conn.get(conn_id)

    def of_user(self, user_id: str) -> list[Session]:
        """A snapshot: callers may end sessions while iterating."""
        conns = self._by_user.get(user_id)
        return list(conns.values()) if conns else []

    def platforms(self, user_id: str) -> frozenset[int]:
        conns = self._by_user.get(user_id)
        return frozenset(s.platform_id for s in conns.values()) if conns else frozenset()

    def add(self, session: Session) -> bool:
        """Index a session; True when it brings a platform this user had no session on here."""
        before = self.platforms(session.user_id)
        self._by_conn[session.conn_id] = session
        self._by_user.setdefault(session.user_id, {})[session.conn_id] = session
        return session.platform_id not in before

    def remove(self, session: Session) -> bool:
        """Forget a session and its subscriptions; True when its platform is now gone for the user."""
        if self._by_conn.pop(session.conn_id, None) is None:
            return False
        conns = self._by_user.get(session.user_id)
        if conns is not None:
            conns.pop(session.conn_id, None)
            if not conns:
                del self._by_user[session.user_id]
        for watched in self._subs.pop(session.conn_id, ()):
            self._unwatch(watched, session.conn_id)
        return session.platform_id not in self.platforms(session.user_id)

    # -- 2005 subscriptions ---------------------------------------------------------------------------
    def update_subscriptions(
        self, conn_id: str, subscribe: Sequence[str], unsubscribe: Sequence[str], *, limit: int
    ) -> bool:
        if conn_id not in self._by_conn:
            return True  # the session is gone; nothing to watch for
        subs = self._subs.setdefault(conn_id, set())
        for uid in unsubscribe:
            if uid in subs:
                subs.discard(uid)
                self._unwatch(uid, conn_id)
        new = [uid for uid in subscribe if uid not in subs]
        if len(subs) + len(new) > limit:
            return False
        for uid in new:
            subs.add(uid)
            self._watchers.setdefault(uid, set()).add(conn_id)
        if not subs:
            del self._subs[conn_id]
        return True

    def subscriptions(self, conn_id: str) -> frozenset[str]:
        return frozenset(self._subs.get(conn_id, ()))

    def watchers(self, user_id: str) -> list[Session]:
        conn_ids = self._watchers.get(user_id)
        if not conn_ids:
            return []
        return [s for c in conn_ids if (s := self._by_conn.get(c)) is not None]

    def _unwatch(self, user_id: str, conn_id: str) -> None:
        conns = self._watchers.get(user_id)
        if conns is not None:
            conns.discard(conn_id)
            if not conns:
                del self._watchers[user_id]
