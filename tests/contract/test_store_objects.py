"""The upload and device-token part of the Store contract, on SQLite AND PostgreSQL."""

from __future__ import annotations

from openim.storage.objects.records import DeviceTokenRecord, ObjectRecord, UploadRecord
from openim.storage.port import Store

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
