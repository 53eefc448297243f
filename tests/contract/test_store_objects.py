"""The upload, device-token and client-log part of the Store contract, on SQLite AND PostgreSQL."""

from __future__ import annotations

import pytest

from openim.storage.objects.records import ClientLogRecord, DeviceTokenRecord, ObjectRecord, UploadRecord
from openim.storage.port import AlreadyExists, Store

NOW = 1_700_000_000_000


async def test_objects_upsert_by_name_and_find_by_hash(store: Store) -> None:
    first = ObjectRecord("u1/a.txt", "u1", "h1", "data/h1", 10, "text/plain", "", NOW)
    await store.put_object(first)
    assert await store.get_object("u1/a.txt") == first
    assert await store.get_object("u1/missing") is None
    later = ObjectRecord("u2/b.txt", "u2", "h1", "data/h1", 10, "text/plain", "msg", NOW + 5)
    await store.put_object(later)
    assert await store.find_object_by_hash("h1") == first  # the oldest holder of the content
    assert await store.find_object_by_hash("nope") is None
    replaced = ObjectRecord("u1/a.txt", "u1", "h2", "data/h2", 20, "image/png", "", NOW + 9)
    await store.put_object(replaced)
    assert await store.get_object("u1/a.txt") == replaced


async def test_upload_sessions_live_until_deleted_and_expire(store: Store) -> None:
    up = UploadRecord("up1", "u1", "u1/f", "h", 100, 60, 2, "text/plain", "", "k", "", NOW)
    old = UploadRecord("up0", "u1", "u1/g", "h", 1, 1, 1, expire_time=NOW - 10)
    await store.save_upload(up)
    await store.save_upload(old)
    assert await store.get_upload("up1") == up
    assert [u.upload_id for u in await store.expired_uploads(NOW)] == ["up0"]
    assert await store.delete_upload("up0") is True
    assert await store.delete_upload("up0") is False
    assert await store.get_upload("up0") is None


async def test_device_tokens_per_user_and_platform(store: Store) -> None:
    await store.set_device_token(DeviceTokenRecord("u1", 1, "tok-ios", 0, NOW))
    await store.set_device_token(DeviceTokenRecord("u1", 2, "tok-android", 0, NOW))
    await store.set_device_token(DeviceTokenRecord("u2", 2, "tok-2", 0, NOW))
    assert await store.set_badge("u1", 7) == 2
    await store.set_device_token(DeviceTokenRecord("u1", 1, "tok-ios-new", 0, NOW + 1))  # refresh keeps badge
    got = await store.get_device_tokens(["u1", "u3"])
    assert [(t.platform_id, t.token, t.badge) for t in got] == [(1, "tok-ios-new", 7), (2, "tok-android", 7)]
    assert await store.delete_device_token("u1", 2) is True
    assert await store.delete_device_token("u1", 2) is False
    assert await store.delete_device_tokens_by_value(["tok-2", "x"]) == 1
    assert [t.token for t in await store.get_device_tokens(["u1", "u2"])] == ["tok-ios-new"]
    assert await store.get_device_tokens([]) == []


def _log(log_id: str, user_id: str, at: int, **kw: str) -> ClientLogRecord:
    return ClientLogRecord(log_id, user_id, "Android", f"http://h/object/{user_id}/{log_id}.zip", create_time=at, **kw)


async def test_client_logs_insert_all_or_none(store: Store) -> None:
    first = _log("1000000001", "u1", NOW, file_name="a.log", app_framework="flutter", version="3.8", ex="{}")
    await store.insert_client_logs([first])
    assert await store.get_client_logs(["1000000001", "9"]) == [first]
    with pytest.raises(AlreadyExists):  # a taken ID fails the whole batch
        await store.insert_client_logs([_log("1000000002", "u1", NOW), _log("1000000001", "u2", NOW)])
    assert await store.get_client_logs(["1000000002"]) == []
    with pytest.raises(AlreadyExists):  # so does one repeated inside the batch
        await store.insert_client_logs([_log("1000000003", "u1", NOW), _log("1000000003", "u1", NOW)])
    assert await store.get_client_logs(["1000000003"]) == []
    await store.insert_client_logs([])


async def test_client_logs_delete_all_or_none(store: Store) -> None:
    await store.insert_client_logs([_log("1", "u1", NOW), _log("2", "u1", NOW), _log("3", "u2", NOW)])
    assert await store.delete_client_logs(["1", "404", "2", "405"]) == ["404", "405"]
    assert [r.log_id for r in await store.get_client_logs(["1", "2", "3"])] == ["1", "2", "3"]
    assert await store.delete_client_logs(["1", "2", "1"]) == []
    assert [r.log_id for r in await store.get_client_logs(["1", "2", "3"])] == ["3"]
    assert await store.delete_client_logs([]) == []


async def test_client_logs_search_by_time_and_user_keyword_newest_first(store: Store) -> None:
    await store.insert_client_logs(
        [
            _log("10", "Alice_1", NOW + 10),
            _log("20", "bob", NOW + 20),
            _log("30", "alice_2", NOW + 30),
            _log("40", "carol", NOW + 40),
            _log("50", "a%ice", NOW + 50),
        ]
    )
    total, page = await store.search_client_logs(keyword="", start_time=NOW, end_time=NOW + 100, offset=0, limit=2)
    assert total == 5 and [r.log_id for r in page] == ["50", "40"]
    total, page = await store.search_client_logs(keyword="", start_time=NOW, end_time=NOW + 100, offset=4, limit=2)
    assert total == 5 and [r.log_id for r in page] == ["10"]
    # Both ends are included; outside the range nothing.
    total, page = await store.search_client_logs(
        keyword="", start_time=NOW + 20, end_time=NOW + 40, offset=0, limit=10
    )
    assert [r.log_id for r in page] == ["40", "30", "20"] and total == 3
    # The keyword is a piece of the user ID, any case; % and _ are plain characters.
    total, page = await store.search_client_logs(
        keyword="ALICE_", start_time=NOW, end_time=NOW + 100, offset=0, limit=10
    )
    assert [r.log_id for r in page] == ["30", "10"] and total == 2
    total, page = await store.search_client_logs(keyword="%", start_time=NOW, end_time=NOW + 100, offset=0, limit=10)
    assert [r.log_id for r in page] == ["50"] and total == 1
    assert (await store.search_client_logs(keyword="x", start_time=NOW, end_time=NOW + 100, offset=0, limit=10)) == (
        0,
        [],
    )
