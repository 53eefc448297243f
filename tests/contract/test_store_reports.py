"""The reports part of the Store contract (message search, creation counts, message activity), on SQLite
AND PostgreSQL: the same filters, orders, pages and day buckets on both."""

from __future__ import annotations

from openim.storage.groups.records import GroupMemberRecord, GroupRecord
from openim.storage.messages.records import NewMessage, StoredMessage, UserRecord
from openim.storage.port import Store
from openim.storage.reports.records import DAY_MS, MessageFilter

DAY0 = 19_700  # a day number (2023-12-08 UTC)
T0 = DAY0 * DAY_MS


def msg(
    cid: str, sender: str, client_msg_id: str, t: int, *, recv: str = "", group: str = "", session: int = 1,
    content_type: int = 101,
) -> NewMessage:
    return NewMessage(
        conversation_id=cid, send_id=sender, client_msg_id=client_msg_id, server_msg_id=f"s-{client_msg_id}",
        send_time=t, session_type=session, content_type=content_type, payload=client_msg_id.encode(),
        recv_id=recv, group_id=group, owners=(sender,), conversation_type=3 if group else 1,
    )


async def _history(store: Store) -> None:
    """Day 0: a->b twice, b->a once, a in group g1, c in group g2 (twice), a notification to a.
    Day 1: c->a once (a picture), a in g1 once. Day 3: b->a once."""
    await store.persist_messages(
        [
            msg("si_a_b", "a", "m1", T0 + 1000, recv="b"),
            msg("si_a_b", "a", "m2", T0 + 2000, recv="b"),
            msg("si_a_b", "b", "m3", T0 + 3000, recv="a"),
            msg("sg_g1", "a", "m4", T0 + 4000, group="g1", session=3),
            msg("sg_g2", "c", "m5", T0 + 5000, group="g2", session=3),
            msg("sg_g2", "c", "m6", T0 + 6000, group="g2", session=3),
            msg("sn_admin_a", "admin", "m7", T0 + 7000, recv="a", session=4, content_type=1400),
            msg("si_a_c", "c", "m8", T0 + DAY_MS + 1, recv="a", content_type=102),
            msg("sg_g1", "a", "m9", T0 + DAY_MS + 2, group="g1", session=3),
            msg("si_a_b", "b", "m10", T0 + 3 * DAY_MS, recv="a"),
        ],
        T0,
    )


def ids(messages: list[StoredMessage]) -> list[str]:
    return [m.client_msg_id for m in messages]


# -- search_messages ---------------------------------------------------------------------------------------


async def test_search_without_a_filter_pages_everything_newest_first(store: Store) -> None:
    await _history(store)
    page = await store.search_messages(MessageFilter(), offset=0, limit=4)
    assert page.total == 10
    assert ids(page.messages) == ["m10", "m9", "m8", "m7"]
    rest = await store.search_messages(MessageFilter(), offset=4, limit=100)
    assert ids(rest.messages) == ["m6", "m5", "m4", "m3", "m2", "m1"] and rest.total == 10
    assert (await store.search_messages(MessageFilter(), offset=50, limit=5)).messages == []
    whole = rest.messages[-1]
    assert (whole.conversation_id, whole.seq, whole.send_id, whole.recv_id, whole.payload) == (
        "si_a_b", 1, "a", "b", b"m1"
    )


async def test_search_filters_combine(store: Store) -> None:
    await _history(store)

    async def found(**kw: object) -> tuple[int, list[str]]:
        page = await store.search_messages(MessageFilter(**kw), offset=0, limit=100)  # type: ignore[arg-type]
        return page.total, ids(page.messages)

    assert await found(send_id="c") == (3, ["m8", "m6", "m5"])
    # recvID: the receiver of one-to-one and notification messages, or the group.
    assert await found(recv_id="a") == (4, ["m10", "m8", "m7", "m3"])
    assert await found(recv_id="g1") == (2, ["m9", "m4"])
    assert await found(content_type=102) == (1, ["m8"])
    assert await found(session_type=3) == (4, ["m9", "m6", "m5", "m4"])
    assert await found(session_type=3, send_id="a") == (2, ["m9", "m4"])
    # One day: [start, end).
    assert await found(start_ms=T0 + DAY_MS, end_ms=T0 + 2 * DAY_MS) == (2, ["m9", "m8"])
    assert await found(start_ms=T0, end_ms=T0 + DAY_MS, recv_id="b") == (2, ["m2", "m1"])
    assert await found(send_id="nobody") == (0, [])


async def test_search_includes_revoked_messages(store: Store) -> None:
    await _history(store)
    assert await store.set_message_revoked("si_a_b", 1, b"revoked")
    page = await store.search_messages(MessageFilter(send_id="a", recv_id="b"), offset=0, limit=10)
    assert [(m.client_msg_id, m.revoke) for m in page.messages] == [("m2", None), ("m1", b"revoked")]


# -- creation_counts ------------------------------------------------------------------------------------------


async def test_creation_counts_per_day(store: Store) -> None:
    await store.insert_users(
        [
            UserRecord("old", create_time=T0 - 1),
            UserRecord("d0a", create_time=T0),
            UserRecord("d0b", create_time=T0 + DAY_MS - 1),
            UserRecord("d2", create_time=T0 + 2 * DAY_MS + 5),
            UserRecord("late", create_time=T0 + 5 * DAY_MS),
        ]
    )
    counts = await store.creation_counts("users", T0, T0 + 5 * DAY_MS)
    assert (counts.total, counts.before) == (5, 1)
    assert counts.per_day == {DAY0: 2, DAY0 + 2: 1}  # the end is excluded, empty days are absent
    empty = await store.creation_counts("users", T0 + 10 * DAY_MS, T0 + 11 * DAY_MS)
    assert (empty.total, empty.before, empty.per_day) == (5, 5, {})

    owner = GroupMemberRecord("g1", "old", role_level=100, join_time=T0)
    await store.create_group(GroupRecord("g1", owner_user_id="old", create_time=T0 + DAY_MS), [owner])
    older = GroupMemberRecord("g2", "old", role_level=100)
    await store.create_group(GroupRecord("g2", owner_user_id="old", create_time=T0 - DAY_MS), [older])
    groups = await store.creation_counts("groups", T0, T0 + 2 * DAY_MS)
    assert (groups.total, groups.before, groups.per_day) == (2, 1, {DAY0 + 1: 1})


# -- message_activity ---------------------------------------------------------------------------------------


async def test_sender_activity_counts_messages_per_day_and_pages_senders(store: Store) -> None:
    await _history(store)
    single = await store.message_activity("sender", [1], T0, T0 + 3 * DAY_MS, offset=0, limit=10)
    # One-to-one only, day 3 excluded: a 2, b 1, c 1.
    assert (single.message_count, single.subject_count) == (4, 3)
    assert single.per_day == {DAY0: 3, DAY0 + 1: 1}
    assert single.subjects == [("a", 2), ("b", 1), ("c", 1)]  # by count, then ID

    both = await store.message_activity("sender", [1, 2, 3], T0, T0 + 4 * DAY_MS, offset=0, limit=10)
    assert (both.message_count, both.subject_count) == (9, 3)  # the notification never counts
    assert both.per_day == {DAY0: 6, DAY0 + 1: 2, DAY0 + 3: 1}
    assert both.subjects == [("a", 4), ("c", 3), ("b", 2)]
    fewest = await store.message_activity(
        "sender", [1, 2, 3], T0, T0 + 4 * DAY_MS, offset=1, limit=1, ascending=True
    )
    assert fewest.subjects == [("c", 3)] and fewest.subject_count == 3

    nothing = await store.message_activity("sender", [1], T0 + 10 * DAY_MS, T0 + 11 * DAY_MS, offset=0, limit=10)
    assert (nothing.message_count, nothing.subject_count, nothing.per_day, nothing.subjects) == (0, 0, {}, [])


async def test_group_activity(store: Store) -> None:
    await _history(store)
    groups = await store.message_activity("group", [2, 3], T0, T0 + 2 * DAY_MS, offset=0, limit=10)
    assert (groups.message_count, groups.subject_count) == (4, 2)
    assert groups.per_day == {DAY0: 3, DAY0 + 1: 1}
    assert groups.subjects == [("g1", 2), ("g2", 2)]
    assert (await store.message_activity("group", [2, 3], T0, T0 + DAY_MS, offset=0, limit=1)).subjects == [
        ("g2", 2)
    ]
