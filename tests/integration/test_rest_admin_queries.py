"""The admin panel's queries against a real server process: /msg/search_msg, /statistics/*, and the
Grafana link (/third/prometheus, configured here). Valid input, bad input (1001) and callers who are
not app admins (1002)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

S = str(time.time_ns())[-7:]
ANN, BEN, CY, IDLE = (f"aq{n}{S}" for n in ("ann", "ben", "cy", "idle"))
GROUP, QUIET = f"aqg{S}", f"aqq{S}"
GRAFANA = "https://grafana.example.net/d/openim?orgId=1"
PAGE = {"pageNumber": 1, "showNumber": 50}
DAY_MS = 86_400_000
FAR_FUTURE = 300_000_000_000_000  # ms: the year 11476


@pytest.fixture(scope="module")
def server_extra_config() -> str:
    return f"ops: {{grafana_url: '{GRAFANA}'}}\n"


def today(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def text(send_id: str, recv_id: str, words: str, *, group: str = "", content_type: int = 101) -> dict[str, Any]:
    content: dict[str, Any] = {"content": words} if content_type == 101 else {"data": words}
    body = {"sendID": send_id, "senderPlatformID": 5, "content": content, "contentType": content_type}
    if group:
        return {**body, "groupID": group, "sessionType": 3}
    return {**body, "recvID": recv_id, "sessionType": 1}


@pytest.fixture(scope="module")
def world(server: ServerProcess) -> dict[str, Any]:
    """Four users, ANN's group with BEN and CY, and their chat: ANN->BEN twice (the first revoked),
    BEN->ANN once, CY->ANN a custom message, ANN and CY in the group; IDLE->BEN once, far in the future."""
    admin = server.admin_token()
    before = int(time.time() * 1000)
    server.call(
        "/user/user_register",
        {"users": [{"userID": u, "nickname": f"Nick {u}", "faceURL": f"https://f/{u}.png"} for u in
                   (ANN, BEN, CY, IDLE)]},
        token=admin,
    )
    tokens = {u: server.user_token(u) for u in (ANN, BEN, CY, IDLE)}
    server.call(
        "/group/create_group",
        {"ownerUserID": ANN, "memberUserIDs": [BEN, CY],
         "groupInfo": {"groupID": GROUP, "groupName": "Audit room", "groupType": 2, "faceURL": "https://f/g.png"}},
        token=tokens[ANN],
    )
    sent = [
        server.call("/msg/send_msg", text(ANN, BEN, "first"), token=admin),
        server.call("/msg/send_msg", text(ANN, BEN, "second"), token=admin),
        server.call("/msg/send_msg", text(BEN, ANN, "reply"), token=admin),
        server.call("/msg/send_msg", text(CY, ANN, "custom", content_type=110), token=admin),
        server.call("/msg/send_msg", text(ANN, "", "hello room", group=GROUP), token=admin),
        server.call("/msg/send_msg", text(CY, "", "hi all", group=GROUP), token=admin),
    ]
    # A sender may stamp its own sendTime: one beyond the year 9999 (no date can name its day).
    server.call("/msg/send_msg", {**text(IDLE, BEN, "from the future"), "sendTime": FAR_FUTURE}, token=admin)
    conv = "si_" + "_".join(sorted((ANN, BEN)))
    server.call("/msg/revoke_msg", {"userID": ANN, "conversationID": conv, "seq": 1}, token=tokens[ANN])
    return {"admin": admin, "tokens": tokens, "before": before, "after": int(time.time() * 1000) + 1,
            "day": today(sent[0]["sendTime"])}


def search(server: ServerProcess, world: dict[str, Any], **body: Any) -> dict[str, Any]:
    data: dict[str, Any] = server.call("/msg/search_msg", {"pagination": PAGE, **body}, token=world["admin"])
    return data


def contents(data: dict[str, Any]) -> list[str]:
    return [log["chatLog"]["content"] for log in data["chatLogs"] or []]


# -- /msg/search_msg -----------------------------------------------------------------------------------------


def test_search_by_sender_gives_names_faces_and_revocations(server: ServerProcess, world: dict[str, Any]) -> None:
    data = search(server, world, sendID=ANN, sessionType=1, contentType=101)  # not the revoke's notice
    assert data["chatLogsNum"] == 2
    newest, oldest = data["chatLogs"]
    assert '"second"' in newest["chatLog"]["content"] and '"first"' in oldest["chatLog"]["content"]
    assert (newest["isRevoked"], oldest["isRevoked"]) == (False, True)  # the original stays readable
    log = newest["chatLog"]
    assert (log["sendID"], log["recvID"], log["senderNickname"], log["senderFaceURL"], log["recvNickname"]) == (
        ANN, BEN, f"Nick {ANN}", f"https://f/{ANN}.png", f"Nick {BEN}"
    )
    assert (log["sessionType"], log["contentType"], log["seq"], log["status"]) == (1, 101, 2, 2)
    assert log["serverMsgID"] and log["clientMsgID"] and log["sendTime"] >= world["before"]


def test_search_by_receiver_type_and_day(server: ServerProcess, world: dict[str, Any]) -> None:
    to_ann = search(server, world, recvID=ANN)
    assert to_ann["chatLogsNum"] == 2 and {log["chatLog"]["sendID"] for log in to_ann["chatLogs"]} == {BEN, CY}
    custom = search(server, world, recvID=ANN, contentType=110)
    assert custom["chatLogsNum"] == 1 and '"custom"' in custom["chatLogs"][0]["chatLog"]["content"]
    in_group = search(server, world, recvID=GROUP, sendTime=world["day"], contentType=101)
    assert in_group["chatLogsNum"] == 2
    log = in_group["chatLogs"][0]["chatLog"]
    assert (log["groupID"], log["recvID"], log["groupName"], log["groupFaceURL"], log["groupOwner"]) == (
        GROUP, GROUP, "Audit room", "https://f/g.png", ANN
    )
    assert (log["groupMemberCount"], log["sendID"], log["senderNickname"]) == (3, CY, f"Nick {CY}")
    yesterday = today(datetime.strptime(world["day"], "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000 - DAY_MS)
    assert search(server, world, recvID=GROUP, sendTime=yesterday)["chatLogsNum"] == 0


def test_search_pages(server: ServerProcess, world: dict[str, Any]) -> None:
    everything = contents(search(server, world, sendID=ANN))
    assert len(everything) == 5  # 3 texts, the revoke's notice, the group's creation notice
    pages = [
        contents(server.call("/msg/search_msg", {"sendID": ANN, "pagination": {"pageNumber": n, "showNumber": 3}},
                             token=world["admin"]))
        for n in (1, 2, 3)
    ]
    assert pages[0] + pages[1] == everything and pages[2] == []


@pytest.mark.parametrize(
    "body",
    [
        {"sendTime": "2024-13-01", "pagination": PAGE},
        {"sendTime": "yesterday", "pagination": PAGE},
        {"sendTime": "2024-1-1", "pagination": PAGE},
        {},  # no pagination
        {"pagination": {"pageNumber": 0, "showNumber": 10}},
        {"pagination": {"pageNumber": 1, "showNumber": 1001}},
    ],
)
def test_search_refuses_bad_input(server: ServerProcess, world: dict[str, Any], body: dict[str, Any]) -> None:
    assert server.post("/msg/search_msg", body, token=world["admin"]).json()["errCode"] == 1001


# -- /statistics/* ---------------------------------------------------------------------------------------------


def test_user_register_counts(server: ServerProcess, world: dict[str, Any]) -> None:
    start, end = world["before"], world["after"]
    data = server.call("/statistics/user/register", {"start": start, "end": end}, token=world["admin"])
    assert data["count"] == {world["day"]: 4}  # this module's four users (the admin is not registered)
    assert data["total"] >= 4 and data["before"] == data["total"] - 4
    later = server.call("/statistics/user/register", {"start": end, "end": end + DAY_MS}, token=world["admin"])
    assert later["before"] == data["total"] and not later["count"]


def test_group_create_counts(server: ServerProcess, world: dict[str, Any]) -> None:
    data = server.call("/statistics/group/create", {"start": world["before"], "end": world["after"]},
                       token=world["admin"])
    assert data["count"] == {world["day"]: 1} and data["total"] == data["before"] + 1


def test_active_users(server: ServerProcess, world: dict[str, Any]) -> None:
    body = {"start": world["before"], "end": world["after"], "pagination": PAGE}
    single = server.call("/statistics/user/active", body, token=world["admin"])
    # One-to-one chats only: ANN 3 (the revoked text was sent too, and the revoke's notice counts like any
    # message of the chat, as in OpenIM), BEN 1, CY 1.
    assert (single["msgCount"], single["userCount"], single["dateCount"]) == (5, 3, {world["day"]: 5})
    assert [(u["user"]["userID"], u["count"]) for u in single["users"]] == [(ANN, 3), (BEN, 1), (CY, 1)]
    assert single["users"][0]["user"]["nickname"] == f"Nick {ANN}"
    both = server.call("/statistics/user/active", {**body, "group": True, "ase": True}, token=world["admin"])
    # With the group: ANN's text and the group's creation notice (sent as its owner), CY's text.
    assert (both["msgCount"], both["userCount"]) == (8, 3)
    assert [(u["user"]["userID"], u["count"]) for u in both["users"]] == [(BEN, 1), (CY, 2), (ANN, 5)]
    page_2 = server.call("/statistics/user/active", {**body, "pagination": {"pageNumber": 2, "showNumber": 2}},
                         token=world["admin"])
    assert [u["user"]["userID"] for u in page_2["users"]] == [CY] and page_2["userCount"] == 3


def test_active_groups(server: ServerProcess, world: dict[str, Any]) -> None:
    body = {"start": world["before"], "end": world["after"], "pagination": PAGE}
    data = server.call("/statistics/group/active", body, token=world["admin"])
    assert (data["msgCount"], data["groupCount"], data["dateCount"]) == (3, 1, {world["day"]: 3})  # with 1501
    [entry] = data["groups"]
    assert (entry["group"]["groupID"], entry["group"]["groupName"], entry["count"]) == (GROUP, "Audit room", 3)
    assert entry["group"]["memberCount"] == 3


def test_statistics_over_all_time_leave_out_times_no_date_can_name(
    server: ServerProcess, world: dict[str, Any]
) -> None:
    body = {"start": 0, "end": 2**63 - 1, "pagination": PAGE}
    data = server.call("/statistics/user/active", body, token=world["admin"])
    assert IDLE not in {u["user"]["userID"] for u in data["users"]} and data["dateCount"][world["day"]] >= 5
    found = search(server, world, sendID=IDLE)  # the search still finds it
    assert found["chatLogsNum"] == 1 and found["chatLogs"][0]["chatLog"]["sendTime"] == FAR_FUTURE


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/statistics/user/register", {"start": 10, "end": 5}),
        ("/statistics/user/register", {"start": -1, "end": 5}),
        ("/statistics/group/create", {"start": 10, "end": 5}),
        ("/statistics/user/active", {"start": 10, "end": 5, "pagination": PAGE}),
        ("/statistics/user/active", {"start": 0, "end": 5}),
        ("/statistics/group/active", {"start": 10, "end": 5, "pagination": PAGE}),
        ("/statistics/group/active", {"start": 0, "end": 5, "pagination": {"pageNumber": 1, "showNumber": 0}}),
    ],
)
def test_statistics_refuse_bad_input(
    server: ServerProcess, world: dict[str, Any], path: str, body: dict[str, Any]
) -> None:
    assert server.post(path, body, token=world["admin"]).json()["errCode"] == 1001


@pytest.mark.parametrize(
    "path",
    ["/msg/search_msg", "/statistics/user/register", "/statistics/user/active", "/statistics/group/create",
     "/statistics/group/active"],
)
def test_only_an_app_admin_may_ask(server: ServerProcess, world: dict[str, Any], path: str) -> None:
    body = {"start": 0, "end": world["after"], "pagination": PAGE, "sendID": ANN}
    for user in (ANN, IDLE):  # the subject of the data, and a bystander
        env = server.post(path, body, token=world["tokens"][user]).json()
        assert env["errCode"] == 1002, (path, user, env)
    assert server.post(path, body).json()["errCode"] == 1001  # no token at all


# -- /third/prometheus ---------------------------------------------------------------------------------------


def test_grafana_link_redirects_to_the_configured_url(server: ServerProcess) -> None:
    resp = httpx.get(server.api_url + "/third/prometheus", follow_redirects=False, timeout=10)
    assert resp.status_code == 302 and resp.headers["location"] == GRAFANA
