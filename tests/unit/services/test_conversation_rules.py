"""The pure rules behind /conversation/* and /jssdk/*: the version-log read rule, the idHash of the full-ID
endpoints, and the order of the active conversation list."""

from __future__ import annotations

import hashlib

import pytest

from openim.services.conversations import ActiveEntry, clamp_active_count, sort_active
from openim.services.versioning import SYNC_LIMIT, go_json_strings, id_hash, is_valid_version_id, plan_incremental
from openim.storage.messages.records import VersionEntry, VersionLog, VersionState

VID = "66a0c1e2f3a4b5c6d7e8f901"


def log_at(version: int, *entries: tuple[str, VersionState, int], version_id: str = VID) -> VersionLog:
    return VersionLog(version_id, version, [VersionEntry(e, s, v) for e, s, v in entries])


# -- version-log read rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version_id", "version"),
    [("", 0), ("", 3), (VID, 0), ("0" * 24, 3), ("xyz", 3), (VID + "0", 3), ("g" * 24, 3)],
)
def test_an_invalid_client_pair_gets_full_with_empty_lists(version_id: str, version: int) -> None:
    plan = plan_incremental(log_at(5, ("a", VersionState.INSERT, 5)), version_id, version)
    assert plan.full
    assert (plan.insert_ids, plan.update_ids, plan.delete_ids) == ([], [], [])
    assert (plan.version_id, plan.version) == (VID, 5)


def test_a_recreated_log_gets_full() -> None:
    plan = plan_incremental(log_at(2, ("a", VersionState.INSERT, 2)), "66a0c1e2f3a4b5c6d7e8f902", 2)
    assert plan.full and plan.insert_ids == []


def test_the_same_version_means_no_changes() -> None:
    plan = plan_incremental(log_at(4), VID, 4)
    assert not plan.full
    assert (plan.insert_ids, plan.update_ids, plan.delete_ids) == ([], [], [])


def test_a_client_ahead_of_the_log_gets_full() -> None:
    assert plan_incremental(log_at(3), VID, 7).full


def test_changes_since_the_client_version_split_by_state() -> None:
    current = log_at(
        9,
        ("old", VersionState.INSERT, 4),  # not newer than the client: left out
        ("si_a_b", VersionState.INSERT, 6),
        ("sg_g", VersionState.UPDATE, 7),
        ("si_a_c", VersionState.DELETE, 8),
        ("si_a_d", VersionState.INSERT, 9),
    )
    plan = plan_incremental(current, VID.upper(), 5)  # the ObjectID hex compares case-insensitively
    assert not plan.full
    assert plan.insert_ids == ["si_a_b", "si_a_d"]
    assert plan.update_ids == ["sg_g"]
    assert plan.delete_ids == ["si_a_c"]


def test_more_than_the_sync_limit_of_changes_gets_full() -> None:
    many = [(f"c{i}", VersionState.UPDATE, 2 + i) for i in range(SYNC_LIMIT + 1)]
    assert plan_incremental(log_at(2 + SYNC_LIMIT, *many), VID, 1).full
    assert not plan_incremental(log_at(1 + SYNC_LIMIT, *many[:SYNC_LIMIT]), VID, 1).full


def test_version_id_validity() -> None:
    assert is_valid_version_id(VID)
    assert not is_valid_version_id("0" * 24)
    assert not is_valid_version_id(VID[:-1])


# -- idHash ----------------------------------------------------------------------------------------------


def test_id_hash_is_md5_of_the_compact_go_json() -> None:
    ids = ["si_u1_u2", "sg_g1"]
    assert go_json_strings(ids) == b'["si_u1_u2","sg_g1"]'
    digest = hashlib.md5(b'["si_u1_u2","sg_g1"]').digest()
    assert id_hash(ids) == int.from_bytes(digest[:8], "big")


def test_id_hash_of_nothing_is_zero() -> None:
    assert id_hash([]) == 0


def test_id_hash_depends_on_order() -> None:
    assert id_hash(["a", "b"]) != id_hash(["b", "a"])


def test_go_json_escapes_html_characters_and_keeps_utf8() -> None:
    assert go_json_strings(["a<b>&c", "\u2028", 'é"']) == '["a\\u003cb\\u003e\\u0026c","\\u2028","é\\""]'.encode()


def test_id_hash_may_exceed_2_to_the_53() -> None:
    # uint64 hashes travel as JSON numbers; nothing here may truncate them to a float.
    values = {id_hash([f"si_{i}"]) for i in range(64)}
    assert any(v > 2**53 for v in values)
    assert all(0 <= v < 2**64 for v in values)


# -- active conversation order -------------------------------------------------------------------------


def entry(cid: str, pinned: bool, last: int, max_seq: int = 1, read: int = 0) -> ActiveEntry:
    return ActiveEntry(cid, pinned, last, max_seq, read)


def test_pinned_first_then_newest_first() -> None:
    ordered = sort_active([entry("a", False, 100), entry("b", True, 10), entry("c", False, 300), entry("d", True, 50)])
    assert [e.conversation_id for e in ordered] == ["d", "b", "c", "a"]


def test_equal_times_order_by_conversation_id() -> None:
    ordered = sort_active([entry("z", False, 5), entry("m", False, 5), entry("a", False, 5)])
    assert [e.conversation_id for e in ordered] == ["a", "m", "z"]


def test_unread_never_goes_negative() -> None:
    assert entry("a", False, 1, max_seq=5, read=2).unread == 3
    assert entry("a", False, 1, max_seq=5, read=9).unread == 0


@pytest.mark.parametrize(("asked", "used"), [(0, 100), (-3, 100), (501, 100), (1, 1), (20, 20), (500, 500)])
def test_count_outside_1_to_500_means_100(asked: int, used: int) -> None:
    assert clamp_active_count(asked) == used
