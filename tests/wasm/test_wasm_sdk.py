"""End-to-end: the official Go SDK core, as the npm package @openim/wasm-client-sdk 3.8.5 ships it
(openim-sdk-core compiled to WebAssembly), in Debian's headless Chromium against ``openim serve`` with the
embedded backends (SQLite, in-process bus).

The core connects as every Go client does (no sdkType, compression=gzip, isMsgResp=true), so this is
the gob+gzip codec end to end: two users chat one-to-one and in a group, mark a conversation read, and
after a logout find the messages sent meanwhile, with the read state kept, when they log in again.
The same scenario runs on PostgreSQL + Redis across two gateways in tests/cluster/test_cluster_wasm_sdk.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from wasm_harness import open_client, run_chat_scenario

if TYPE_CHECKING:
    from conftest import Embedded
    from wasm_harness import StaticSite

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_wasm_core_chats_groups_and_syncs(site: StaticSite, embedded_server: Embedded, tmp_path: Path) -> None:
    server = embedded_server
    try:
        run_chat_scenario(site, tmp_path, server.admin, [(server.api_addr, server.ws_addr)], label="embedded")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- server log ---\n{server.log_tail()}") from None
    # Every connection of the core was a gob+gzip one, and none ended in a protocol error.
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    opened = [e for e in lines if e.get("event") == "conn.opened"]
    assert opened and {e["codec"] for e in opened} == {"gob+gzip"}, opened
    assert not [e for e in lines if e.get("reason") == "protocol error"], server.log_tail()
    assert not [e for e in lines if e.get("level") == "error"], server.log_tail()


@pytest.mark.timeout(300)
def test_wasm_core_reads_the_unanswered_request_badges(
    site: StaticSite, embedded_server: Embedded, tmp_path: Path
) -> None:
    """The core's getFriendApplicationUnhandledCount / getGroupApplicationUnhandledCount ask the server
    (/friend/get_self_unhandled_apply_count, /group/get_group_application_unhandled_count)."""
    admin = embedded_server.admin
    suffix = f"{time.time_ns() % 10**9}"
    owner, asker, joiner = f"wasmo{suffix}", f"wasmq{suffix}", f"wasmj{suffix}"
    admin.register(owner, asker, joiner)
    group_id = f"wasmg{suffix}"
    admin.call("/group/create_group", {
        "ownerUserID": owner, "memberUserIDs": [],
        "groupInfo": {"groupID": group_id, "groupName": "badges", "groupType": 2, "needVerification": 1},
    }, admin.admin_token())  # fmt: skip
    client = open_client(site, tmp_path / "badges-owner", "owner")
    try:
        client.login(owner, admin.user_token(owner), embedded_server.api_addr, embedded_server.ws_addr)
        assert client.call("getFriendApplicationUnhandledCount", {"time": 0}) == 0
        request = {"fromUserID": asker, "toUserID": owner, "reqMsg": "hi"}
        admin.call("/friend/add_friend", request, admin.user_token(asker))
        body = {"groupID": group_id, "reqMessage": "let me in", "joinSource": 3, "inviterUserID": joiner}
        admin.call("/group/join_group", body, admin.user_token(joiner))
        assert client.call("getFriendApplicationUnhandledCount", {"time": 0}) == 1
        assert client.call("getGroupApplicationUnhandledCount", {"time": 0}) == 1
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- browser log ---\n{client.logs()}\n--- server log ---\n"
                             f"{embedded_server.log_tail()}") from None
    finally:
        client.driver.quit()
