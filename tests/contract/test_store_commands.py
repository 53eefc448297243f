"""The per-user command lists of the Store contract, and the system-account search, on SQLite AND
PostgreSQL."""

from __future__ import annotations

import pytest

from openim.storage.commands.records import UserCommandPatch, UserCommandRecord
from openim.storage.messages.records import UserRecord
from openim.storage.port import AlreadyExists, Store

NOW = 1_700_000_000_000


async def test_commands_add_get_by_type_and_all_oldest_first(store: Store) -> None:
    fav_b = UserCommandRecord("u1", 1, "b", "vb", "xb", NOW + 2)
    fav_a = UserCommandRecord("u1", 1, "a", "va", "", NOW + 1)
    pin = UserCommandRecord("u1", 2, "a", "", "", NOW)
    other = UserCommandRecord("u2", 1, "a", "theirs", "", NOW)
    for command in (fav_b, fav_a, pin, other):
        await store.add_user_command(command)
    assert await store.get_user_commands("u1") == [pin, fav_a, fav_b]
    assert await store.get_user_commands("u1", 1) == [fav_a, fav_b]
    assert await store.get_user_commands("u1", 3) == []
    assert await store.get_user_commands("u2") == [other]
    assert await store.get_user_commands("nobody") == []


async def test_command_name_is_unique_per_user_and_type(store: Store) -> None:
    first = UserCommandRecord("u1", 1, "x", "first", "", NOW)
    await store.add_user_command(first)
    with pytest.raises(AlreadyExists):
        await store.add_user_command(UserCommandRecord("u1", 1, "x", "second", "", NOW + 1))
    # The same uuid under another type, or for another user, is another entry.
    await store.add_user_command(UserCommandRecord("u1", 2, "x", "", "", NOW))
    await store.add_user_command(UserCommandRecord("u2", 1, "x", "", "", NOW))
    assert (await store.get_user_commands("u1", 1)) == [first]


async def test_command_update_sets_only_patched_fields(store: Store) -> None:
    await store.add_user_command(UserCommandRecord("u1", 1, "x", "v", "e", NOW))
    assert await store.update_user_command("u1", 1, "x", UserCommandPatch(value="v2")) is True
    assert await store.get_user_commands("u1") == [UserCommandRecord("u1", 1, "x", "v2", "e", NOW)]
    assert await store.update_user_command("u1", 1, "x", UserCommandPatch(value="", ex="e2")) is True
    assert await store.get_user_commands("u1") == [UserCommandRecord("u1", 1, "x", "", "e2", NOW)]
    # An empty patch changes nothing and says whether the entry exists.
    assert await store.update_user_command("u1", 1, "x", UserCommandPatch()) is True
    assert await store.update_user_command("u1", 1, "y", UserCommandPatch()) is False
    assert await store.update_user_command("u1", 2, "x", UserCommandPatch(value="v")) is False
    assert await store.update_user_command("u2", 1, "x", UserCommandPatch(value="v")) is False
    assert await store.get_user_commands("u1") == [UserCommandRecord("u1", 1, "x", "", "e2", NOW)]


async def test_command_delete_reports_missing(store: Store) -> None:
    await store.add_user_command(UserCommandRecord("u1", 1, "x", "v", "", NOW))
    await store.add_user_command(UserCommandRecord("u1", 2, "x", "v", "", NOW))
    assert await store.delete_user_command("u2", 1, "x") is False
    assert await store.delete_user_command("u1", 1, "x") is True
    assert await store.delete_user_command("u1", 1, "x") is False
    assert [c.type for c in await store.get_user_commands("u1")] == [2]


async def test_find_accounts_by_level_user_id_and_nickname(store: Store) -> None:
    await store.insert_users(
        [
            UserRecord("plain", "Bank", create_time=NOW, app_manager_level=1),
            UserRecord("admin", "Bank", create_time=NOW + 1, app_manager_level=2),
            UserRecord("notice1", "Bank", create_time=NOW + 2, app_manager_level=3),
            UserRecord("robot", "Robot", create_time=NOW + 3, app_manager_level=4),
            UserRecord("notice2", "News", create_time=NOW + 4, app_manager_level=3),
        ]
    )

    async def ids(**kwargs: object) -> tuple[int, list[str]]:
        total, found = await store.find_accounts(min_manager_level=3, offset=0, limit=10, **kwargs)  # type: ignore[arg-type]
        return total, [u.user_id for u in found]

    assert await ids() == (3, ["notice1", "robot", "notice2"])
    assert await ids(manager_level=3) == (2, ["notice1", "notice2"])
    assert await ids(user_id="robot") == (1, ["robot"])
    assert await ids(user_id="plain") == (0, [])  # not a system account
    assert await ids(user_id="notice") == (0, [])  # exact, not a substring
    assert await ids(nickname="Bank") == (1, ["notice1"])
    assert await ids(nickname="bank") == (0, [])
    total, page = await store.find_accounts(min_manager_level=3, offset=1, limit=1)
    assert (total, [u.user_id for u in page]) == (3, ["robot"])
