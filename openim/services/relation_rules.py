"""The relation rules of a one-to-one send: blocked by the recipient (1302), or not the recipient's
friend under ``messaging.friend_verify`` (1303). Both are questions about the recipient's lists, as in
OpenIM (a sender who blocked the recipient may still write to him).

The lists are cached per recipient rather than per pair, so a user who hears from many peers costs one
read, not one each. The cache is named ``relation_lists_by_owner`` in the process's CacheRegistry
(openim.ttl_cache); the relation service drops a user's lists when it changes them (``forget``, the one
place that invalidates them), and openim.cluster.coherence carries that to every process.
"""

from __future__ import annotations

from openim.config import MessagingConfig
from openim.pipeline.msg import SEND_CACHE_TTL_S
from openim.storage.port import Store
from openim.ttl_cache import CacheRegistry, TtlCache
from openim.wire.errors import ErrCode, OpenIMError

Lists = tuple[frozenset[str], frozenset[str] | None]  # (whom they blacklisted, their friends or None)
RELATION_LISTS_BY_OWNER = "relation_lists_by_owner"  # the cache of check_single_send's reads


class RelationRules:
    def __init__(self, store: Store, messaging: MessagingConfig, caches: CacheRegistry | None = None) -> None:
        self._store = store
        self._friend_verify = messaging.friend_verify
        registry = caches if caches is not None else CacheRegistry()  # None: caches of its own (tests)
        self._lists: TtlCache[str, Lists] = registry.cache(RELATION_LISTS_BY_OWNER, SEND_CACHE_TTL_S)

    async def check_single_send(self, send_id: str, recv_id: str) -> None:
        """Raise 1302 BlockedByPeer if recv_id blocked send_id, 1303 NotPeersFriend under friend_verify.
        Admins, app-admin accounts and notifications never get here: the msg stage lets them through
        before asking."""
        if self.check_single_send_now(send_id, recv_id):
            return
        blocked_ids = frozenset(b.block_user_id for b in await self._store.get_blacks(recv_id))
        friend_ids = frozenset(await self._store.get_friend_ids(recv_id)) if self._friend_verify else None
        lists = (blocked_ids, friend_ids)
        self._lists.put(recv_id, lists)
        _judge(lists, send_id, recv_id)

    def check_single_send_now(self, send_id: str, recv_id: str) -> bool:
        """:meth:`check_single_send` from the cache: raises as it does, True when allowed, False when the
        recipient's lists are not cached (then check_single_send reads them)."""
        lists = self._lists.get(recv_id)
        if lists is None:
            return False
        _judge(lists, send_id, recv_id)
        return True

    def forget(self, owner: str) -> None:
        """``owner``'s friends or blacklist changed."""
        self._lists.invalidate(owner)


def _judge(lists: Lists, send_id: str, recv_id: str) -> None:
    blocked, friends = lists
    if send_id in blocked:
        raise OpenIMError(ErrCode.BLOCKED_BY_PEER, f"{recv_id} has blocked {send_id}")
    if friends is not None and send_id not in friends:
        raise OpenIMError(ErrCode.NOT_PEERS_FRIEND, f"{send_id} is not a friend of {recv_id}")
