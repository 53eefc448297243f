"""The ``world`` fixture of the group service's tests (group_rig.py): a fresh store and group per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openim.storage.sql.sqlite import SqliteStore
from tests.unit.services.groups.group_rig import World, make_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = SqliteStore(tmp_path / "g.db")
    world = await make_world(store)
    yield world
    await store.aclose()
