"""The admin panel's queries: /msg/search_msg and /statistics/* (OpenIM's SearchMessage, UserRegisterCount,
GroupCreateCount, GetActiveUser, GetActiveGroup), over the Store's report reads (openim.storage.reports).

Who may ask is the routes' business (app admins only); this service checks the arguments, reads, and
shapes the answer as OpenIM does:

* dates are UTC days, ``YYYY-MM-DD`` (OpenIM formats them in MongoDB, whose default zone is UTC); a
  range is [start, end) in ms;
* the active-user and active-group ``dateCount`` counts MESSAGES per day (what OpenIM's aggregation
  counts), ``userCount``/``groupCount`` the distinct senders or groups of the whole range, and the page
  of users or groups is ordered by their message count (most first, fewest with ``ase``). Active users
  are senders in one-to-one chats, and in group chats too with ``group``; notifications never count;
* a sender or group that no longer exists is still listed, under its ID (OpenIM's fallback);
* search_msg finds every stored message, revoked ones included (``isRevoked``, with the original
  content: an audit must see what was said), newest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from openim.services.conversations import user_to_pb
from openim.services.groups.convert import group_to_pb
from openim.services.versioning import page_window
from openim.storage.messages.records import StoredMessage, UserRecord
from openim.storage.port import Store
from openim.storage.reports.records import DAY_MS, MessageFilter
from openim.wire.constants import MsgStatus, SessionType
from openim.wire.errors import args_error
from openim.wire.pb import msg_pb2, sdkws_pb2

MAX_SEARCH_PAGE = 1000  # messages per search page: an answer stays a few MB at most
# The first ms of the year 10000: no date key exists beyond it. A client may stamp its own sendTime, so
# the statistics count nothing from there on rather than fail on an absurd one.
END_OF_DATES_MS = 253_402_300_800_000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_GROUP_SESSIONS = (SessionType.WRITE_GROUP, SessionType.READ_GROUP)


def day_key(day: int) -> str:
    """A day number (ms // DAY_MS) as OpenIM's date key."""
    return datetime.fromtimestamp(day * DAY_MS / 1000, UTC).strftime("%Y-%m-%d")


def day_range(send_time: str) -> tuple[int, int]:
    """[start, end) in ms of the UTC day ``YYYY-MM-DD`` (1001 for anything else, as Go's DateOnly)."""
    if not _DATE.fullmatch(send_time):
        raise args_error(f"invalid sendTime {send_time!r}: expected YYYY-MM-DD")
    try:
        day = datetime.strptime(send_time, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as err:
        raise args_error(f"invalid sendTime {send_time!r}: {err}") from err
    start = int(day.timestamp() * 1000)
    return start, start + DAY_MS


def check_range(start: int, end: int) -> tuple[int, int]:
    """The range [start, end) as the statistics read it (1001 when it is not one)."""
    if start < 0:
        raise args_error("start must not be negative")
    if start > end:
        raise args_error(f"start > end: {start} > {end}")
    return min(start, END_OF_DATES_MS), min(end, END_OF_DATES_MS)


def _per_day(counts: dict[int, int]) -> dict[str, int]:
    return {day_key(day): n for day, n in sorted(counts.items())}


class AdminReports:
    """The answers of the admin panel's queries, read through the Store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- message search -----------------------------------------------------------------------------
    async def search_messages(self, req: msg_pb2.SearchMessageReq) -> msg_pb2.SearchMessageResp:
        offset, limit = page_window(req.pagination)
        if limit > MAX_SEARCH_PAGE:
            raise args_error(f"pagination.showNumber must be at most {MAX_SEARCH_PAGE}")
        start, end = day_range(req.sendTime) if req.sendTime else (0, None)
        where = MessageFilter(
            send_id=req.sendID,
            recv_id=req.recvID,
            content_type=req.contentType,
            session_type=req.sessionType,
            start_ms=start,
            end_ms=end,
        )
        page = await self._store.search_messages(where, offset=offset, limit=limit)
        users = await self._users({m.send_id for m in page.messages} | {m.recv_id for m in page.messages})
        groups = await self._groups({m.group_id for m in page.messages if m.session_type in _GROUP_SESSIONS})
        logs = [
            msg_pb2.SearchChatLog(chatLog=_chat_log(m, users, groups), isRevoked=m.revoke is not None)
            for m in page.messages
        ]
        return msg_pb2.SearchMessageResp(chatLogs=logs, chatLogsNum=min(page.total, 2**31 - 1))

    # -- statistics ---------------------------------------------------------------------------------
    async def user_register_count(self, start: int, end: int) -> tuple[int, int, dict[str, int]]:
        """(users now, users registered before ``start``, registrations per day in [start, end))."""
        start, end = check_range(start, end)
        counts = await self._store.creation_counts("users", start, end)
        return counts.total, counts.before, _per_day(counts.per_day)

    async def group_create_count(self, start: int, end: int) -> tuple[int, int, dict[str, int]]:
        """(groups now, dismissed ones included; groups created before ``start``; per day in the range)."""
        start, end = check_range(start, end)
        counts = await self._store.creation_counts("groups", start, end)
        return counts.total, counts.before, _per_day(counts.per_day)

    async def active_users(self, req: msg_pb2.GetActiveUserReq) -> msg_pb2.GetActiveUserResp:
        start, end = check_range(req.start, req.end)
        offset, limit = page_window(req.pagination)
        sessions = (SessionType.SINGLE, *_GROUP_SESSIONS) if req.group else (SessionType.SINGLE,)
        activity = await self._store.message_activity(
            "sender", sessions, start, end, offset=offset, limit=limit, ascending=req.ase
        )
        users = await self._users(user_id for user_id, _ in activity.subjects)
        resp = msg_pb2.GetActiveUserResp(
            msgCount=activity.message_count, userCount=activity.subject_count, dateCount=_per_day(activity.per_day)
        )
        for user_id, count in activity.subjects:
            user = users.get(user_id)
            info = user_to_pb(user) if user else sdkws_pb2.UserInfo(userID=user_id, nickname=user_id)
            resp.users.add(user=info, count=count)
        return resp

    async def active_groups(self, req: msg_pb2.GetActiveGroupReq) -> msg_pb2.GetActiveGroupResp:
        start, end = check_range(req.start, req.end)
        offset, limit = page_window(req.pagination)
        activity = await self._store.message_activity(
            "group", _GROUP_SESSIONS, start, end, offset=offset, limit=limit, ascending=req.ase
        )
        groups = await self._groups(group_id for group_id, _ in activity.subjects)
        resp = msg_pb2.GetActiveGroupResp(
            msgCount=activity.message_count, groupCount=activity.subject_count, dateCount=_per_day(activity.per_day)
        )
        for group_id, count in activity.subjects:
            info = groups.get(group_id) or sdkws_pb2.GroupInfo(groupID=group_id, groupName=group_id)
            resp.groups.add(group=info, count=count)
        return resp

    # -- lookups ------------------------------------------------------------------------------------
    async def _users(self, user_ids: Iterable[str]) -> dict[str, UserRecord]:
        ids = sorted({u for u in user_ids if u})
        return {u.user_id: u for u in await self._store.get_users(ids)} if ids else {}

    async def _groups(self, group_ids: Iterable[str]) -> dict[str, sdkws_pb2.GroupInfo]:
        ids = sorted({g for g in group_ids if g})
        if not ids:
            return {}
        counts = await self._store.count_group_members(ids)
        return {g.group_id: group_to_pb(g, counts.get(g.group_id, 0)) for g in await self._store.get_groups(ids)}


def _chat_log(
    stored: StoredMessage, users: dict[str, UserRecord], groups: dict[str, sdkws_pb2.GroupInfo]
) -> msg_pb2.ChatLog:
    """OpenIM's ChatLog of a stored message: the message's own fields, the sender's and receiver's names
    (and the sender's face) from their profiles when the message does not carry them, and the group's
    name, face, owner, type and member count for group messages."""
    msg = sdkws_pb2.MsgData.FromString(stored.payload)
    sender = users.get(stored.send_id)
    log = msg_pb2.ChatLog(
        serverMsgID=stored.server_msg_id,
        clientMsgID=stored.client_msg_id,
        sendID=stored.send_id,
        recvID=stored.recv_id,
        groupID=stored.group_id,
        senderPlatformID=msg.senderPlatformID,
        senderNickname=msg.senderNickname or (sender.nickname if sender else ""),
        senderFaceURL=msg.senderFaceURL or (sender.face_url if sender else ""),
        sessionType=stored.session_type,
        msgFrom=msg.msgFrom,
        contentType=stored.content_type,
        content=msg.content.decode("utf-8", "replace"),
        status=MsgStatus.SUCCESS,
        sendTime=stored.send_time,
        createTime=msg.createTime,
        ex=msg.ex,
        seq=stored.seq,
    )
    if stored.session_type in _GROUP_SESSIONS:
        group = groups.get(stored.group_id)
        if group is not None:
            log.recvID = group.groupID
            log.groupName = group.groupName
            log.groupFaceURL = group.faceURL
            log.groupOwner = group.ownerUserID
            log.groupType = group.groupType
            log.groupMemberCount = group.memberCount
    else:
        receiver = users.get(stored.recv_id)
        log.recvNickname = receiver.nickname if receiver else ""
    return log
