"""The ClientConfigStore contract on SQLite AND PostgreSQL: settings per scope (the defaults, user ""; or
one user), upserted and deleted by key, paged by scope and key."""

from __future__ import annotations

from openim.storage.client_configs.records import GLOBAL_SCOPE, ClientConfigRecord
from openim.storage.port import Store


async def test_settings_are_kept_per_scope_and_replaced_by_key(store: Store) -> None:
    await store.set_client_config(GLOBAL_SCOPE, {"theme": "light", "upload.max": "100"})
    await store.set_client_config("u1", {"theme": "dark"})
    await store.set_client_config(GLOBAL_SCOPE, {"upload.max": "200"})
    assert await store.get_client_config(GLOBAL_SCOPE) == {"theme": "light", "upload.max": "200"}
    assert await store.get_client_config("u1") == {"theme": "dark"}
    assert await store.get_client_config("u2") == {}
    await store.set_client_config("u1", {})  # nothing to write is no error


async def test_delete_removes_only_the_listed_keys_of_the_scope(store: Store) -> None:
    await store.set_client_config(GLOBAL_SCOPE, {"a": "1", "b": "2"})
    await store.set_client_config("u1", {"a": "x", "b": "y"})
    assert await store.delete_client_config("u1", ["a", "a", "missing"]) == 1
    assert await store.get_client_config("u1") == {"b": "y"}
    assert await store.get_client_config(GLOBAL_SCOPE) == {"a": "1", "b": "2"}
    assert await store.delete_client_config("u1", []) == 0


async def test_pages_filter_by_scope_and_key_in_scope_then_key_order(store: Store) -> None:
    await store.set_client_config(GLOBAL_SCOPE, {"k1": "g1", "k2": "g2"})
    await store.set_client_config("u1", {"k1": "a1"})
    await store.set_client_config("u2", {"k2": "b2", "k1": "b1"})
    total, page = await store.page_client_config(user_id=None, key="", offset=0, limit=10)
    assert total == 5
    assert [(r.user_id, r.key) for r in page] == [("", "k1"), ("", "k2"), ("u1", "k1"), ("u2", "k1"), ("u2", "k2")]
    total, page = await store.page_client_config(user_id=None, key="k1", offset=1, limit=1)
    assert total == 3 and page == [ClientConfigRecord("u1", "k1", "a1")]
    total, page = await store.page_client_config(user_id="u2", key="", offset=0, limit=10)
    assert total == 2 and [r.value for r in page] == ["b1", "b2"]
    total, page = await store.page_client_config(user_id=GLOBAL_SCOPE, key="", offset=0, limit=10)
    assert total == 2 and {r.key for r in page} == {"k1", "k2"}
