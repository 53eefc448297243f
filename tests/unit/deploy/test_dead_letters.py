"""`openim webhooks dead-letters` and `openim webhooks redrive` on a real embedded store (CliRunner)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import trio
from click.testing import CliRunner, Result

from openim.cli import cli
from openim.clock import now_ms
from openim.hook_queue import HookCounts, HookEntry, HookWrites
from openim.storage.sql.sqlite import SqliteStore

pytestmark = pytest.mark.timeout(60)


def run(config: Path, *args: str) -> Result:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OPENIM_")}
    return CliRunner().invoke(cli, ["webhooks", *args, "-c", str(config)], env=env, catch_exceptions=False)


async def _seed(db: Path) -> None:
    store = SqliteStore(db)
    await store.open()
    try:
        new = [HookEntry(f"e{i}", "afterQuitGroup", f"op{i}", json.dumps({"groupID": f"g{i}"}), created_at=i)
               for i in range(3)]  # fmt: skip
        await store.hook_write(HookWrites(new=new), now_ms=now_ms())
        taken = await store.hook_take("n", max_items=10, now_ms=now_ms(), lease_ms=60_000)
        await store.hook_write(HookWrites(dead=[e.failed("HTTP 500") for e in taken]), now_ms=now_ms())
    finally:
        await store.aclose()


async def _counts(db: Path) -> HookCounts:
    store = SqliteStore(db)
    await store.open()
    try:
        return await store.hook_counts()
    finally:
        await store.aclose()


def test_dead_letters_are_listed_and_requeued_from_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    db = tmp_path / "data" / "openim.db"
    trio.run(_seed, db)

    listed = run(config, "dead-letters", "--json")
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["entryID"], r["operationID"], r["attempts"], r["lastError"], r["body"]) for r in rows] == [
        (f"e{i}", f"op{i}", 1, "HTTP 500", {"groupID": f"g{i}"}) for i in range(3)
    ]
    table = run(config, "dead-letters", "--limit", "2")
    assert table.stdout.splitlines()[0].split() == ["e0", "afterQuitGroup", "op0", "attempts=1", "HTTP", "500"]
    assert len(table.stdout.splitlines()) == 2

    assert run(config, "redrive").exit_code == 2  # neither ids nor --all
    assert run(config, "redrive", "e1").stdout == "requeued: 1\n"
    assert trio.run(_counts, db) == HookCounts(queued=1, dead=2)
    assert run(config, "redrive", "--all").stdout == "requeued: 2\n"
    assert trio.run(_counts, db) == HookCounts(queued=3, dead=0)
