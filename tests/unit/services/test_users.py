"""UserService is the writer of users: a profile change drops the send path's cached copy itself (the
REST route does not), and a change that was refused drops nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openim.config import AuthConfig
from openim.services.users import UserService
from openim.storage.messages.records import UserPatch, UserRecord
from openim.storage.sql.sqlite import SqliteStore
from openim.wire.errors import ErrCode, OpenIMError

pytestmark = pytest.mark.trio


class RecordingSend:
    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget_user(self, user_id: str) -> None:
        self.forgotten.append(user_id)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "u.db")
    await store.open()
    await store.insert_users([UserRecord("u1", "U1", "", create_time=1)])
    yield store
    await store.aclose()


async def test_a_profile_change_drops_the_cached_user(store: SqliteStore) -> None:
    send = RecordingSend()
    users = UserService(store, AuthConfig(), send)  # type: ignore[arg-type]
    after = await users.update("u1", UserPatch(global_recv_msg_opt=2))
    assert after.global_recv_msg_opt == 2
    assert send.forgotten == ["u1"]


async def test_a_refused_change_drops_nothing(store: SqliteStore) -> None:
    send = RecordingSend()
    users = UserService(store, AuthConfig(), send)  # type: ignore[arg-type]
    with pytest.raises(OpenIMError) as unknown:
        await users.update("nobody", UserPatch(nickname="N"))
    assert unknown.value.code == ErrCode.RECORD_NOT_FOUND
    with pytest.raises(OpenIMError):
        await users.update("u1", UserPatch(global_recv_msg_opt=7))
    assert send.forgotten == []
