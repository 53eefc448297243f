"""/third/logs/* against a real server: a client uploads its log file through /object/*, records it with
/third/logs/upload, and an app admin finds it with /third/logs/search and removes it with
/third/logs/delete; who may call which, and the bad inputs each refuses."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ServerProcess
from tests.integration.test_objects import _upload

PAGE = {"pageNumber": 1, "showNumber": 50}


@pytest.fixture(scope="module")
def user(server: ServerProcess) -> tuple[str, str]:
    user_id = f"logs_u{time.time_ns()}"
    server.call("/user/user_register", {"users": [{"userID": user_id, "nickname": "Lena"}]}, token=server.admin_token())
    return user_id, server.user_token(user_id, platform_id=2)


def _env(server: ServerProcess, path: str, body: Any, token: str) -> dict[str, Any]:
    resp = server.post(path, body, token=token)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _search(server: ServerProcess, keyword: str, **extra: Any) -> dict[str, Any]:
    return dict(server.call("/third/logs/search", {"keyword": keyword, "pagination": PAGE, **extra},
                            token=server.admin_token()))


def test_upload_search_delete(server: ServerProcess, user: tuple[str, str]) -> None:
    user_id, token = user
    data = b"2026-12-06 17:40:01 INFO sdk started\n" * 100
    stored = _upload(server, token, f"{user_id}/sdk-log.zip", data, "application/octet-stream")
    assert stored["errCode"] == 0, stored
    url = stored["data"]["url"]
    before = int(time.time() * 1000)
    body = {
        "platform": 2,
        "fileURLs": [{"filename": "sdk-log.zip", "URL": url}, {"filename": "crash.txt", "URL": url + "?2"}],
        "appFramework": "flutter",
        "version": "3.8.3",
        "ex": '{"device":"Pixel 8"}',
    }
    assert _env(server, "/third/logs/upload", body, token)["errCode"] == 0
    after = int(time.time() * 1000)

    found = _search(server, user_id)
    assert found["total"] == 2
    infos = found["logsInfos"]
    assert sorted(i["filename"] for i in infos) == ["crash.txt", "sdk-log.zip"]
    first = next(i for i in infos if i["filename"] == "sdk-log.zip")
    assert first["userID"] == user_id and first["nickname"] == "Lena"
    assert first["platform"] == "Android"
    assert first["url"] == url
    assert first["version"] == "3.8.3" and first["ex"] == '{"device":"Pixel 8"}'
    assert first["appFramework"] == "flutter" and first["systemType"] == ""
    assert before <= first["createTime"] <= after
    assert len(first["logID"]) == 10 and first["logID"].isdigit() and first["logID"][0] != "0"
    # The file the URL names is the one uploaded: the admin can fetch it without a token.
    assert httpx.get(url, timeout=10).content == data

    # A time range that ends before the upload finds nothing; one around it finds both.
    assert _search(server, user_id, startTime=1, endTime=before - 1)["total"] == 0
    assert _search(server, user_id, startTime=before, endTime=after)["total"] == 2

    ids = sorted(i["logID"] for i in infos)
    missing = _env(server, "/third/logs/delete", {"logIDs": [ids[0], "1234509876"]}, server.admin_token())
    assert missing["errCode"] == 1004 and "1234509876" in missing["errDlt"]
    assert _search(server, user_id)["total"] == 2, "a delete naming a missing log deletes nothing"
    assert _env(server, "/third/logs/delete", {"logIDs": [ids[0]]}, server.admin_token())["errCode"] == 0
    left = _search(server, user_id)
    assert left["total"] == 1 and left["logsInfos"][0]["logID"] == ids[1]


def test_older_sdks_send_system_type(server: ServerProcess) -> None:
    user_id = f"logs_old{time.time_ns()}"
    server.call("/user/user_register", {"users": [{"userID": user_id, "nickname": "o"}]}, token=server.admin_token())
    token = server.user_token(user_id, platform_id=1)
    body = {"platform": 1, "fileURLs": [{"filename": "a.log", "URL": "http://x/object/a.log"}],
            "systemType": "ios 17", "version": "3.5"}
    assert _env(server, "/third/logs/upload", body, token)["errCode"] == 0
    [info] = _search(server, user_id)["logsInfos"]
    assert info["systemType"] == "ios 17" and info["platform"] == "IOS" and info["appFramework"] == ""


def test_keyword_matches_part_of_the_user_id_and_pages(server: ServerProcess) -> None:
    tag = f"kw{time.time_ns()}"
    admin = server.admin_token()
    users = [f"{tag}_a", f"{tag}_b", f"other{time.time_ns()}"]
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in users]}, token=admin)
    for u in users:
        body = {"platform": 5, "fileURLs": [{"filename": f"{u}.log", "URL": f"http://x/object/{u}.log"}]}
        assert _env(server, "/third/logs/upload", body, server.user_token(u))["errCode"] == 0
    one = {"showNumber": 1}
    page1 = server.call("/third/logs/search", {"keyword": tag.upper(), "pagination": {"pageNumber": 1, **one}},
                        token=admin)
    page2 = server.call("/third/logs/search", {"keyword": tag, "pagination": {"pageNumber": 2, **one}}, token=admin)
    assert page1["total"] == page2["total"] == 2
    assert {page1["logsInfos"][0]["userID"], page2["logsInfos"][0]["userID"]} == {f"{tag}_a", f"{tag}_b"}


def test_only_admins_search_and_delete(server: ServerProcess, user: tuple[str, str]) -> None:
    _, token = user
    assert _env(server, "/third/logs/search", {"keyword": "", "pagination": PAGE}, token)["errCode"] == 1002
    assert _env(server, "/third/logs/delete", {"logIDs": ["1234567890"]}, token)["errCode"] == 1002
    # An admin may upload logs too (its own: the token's user).
    body = {"platform": 10, "fileURLs": [{"filename": "admin.log", "URL": "http://x/object/admin.log"}]}
    assert _env(server, "/third/logs/upload", body, server.admin_token())["errCode"] == 0
    # No token: refused before anything is read.
    resp = httpx.post(server.api_url + "/third/logs/upload", json=body, headers={"operationID": "op"}, timeout=10)
    assert resp.json()["errCode"] == 1001


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"platform": 99, "fileURLs": [{"filename": "a", "URL": "http://x/a"}]}, "platform 99 is invalid"),
        ({"platform": 2, "fileURLs": []}, "fileURLs is empty"),
        ({"platform": 2}, "fileURLs is empty"),
        ({"platform": 2, "fileURLs": [{"filename": "a", "URL": ""}]}, "URL is empty"),
        ({"platform": 2, "fileURLs": [{"filename": "a", "URL": "http://x/" + "a" * 3000}]}, "at most 2048"),
        ({"platform": 2, "fileURLs": [{"filename": "a", "URL": "http://x/a"}], "ex": "e" * 5000}, "ex is 5000"),
        ({"platform": 2, "fileURLs": [{"filename": "a", "URL": "http://x/a"}], "version": "v" * 300}, "version"),
        ({"platform": 2, "fileURLs": "nope"}, ""),
    ],
)
def test_upload_refuses_bad_input(server: ServerProcess, user: tuple[str, str], body: dict[str, Any],
                                  detail: str) -> None:
    user_id, token = user
    before = _search(server, user_id)["total"]
    env = _env(server, "/third/logs/upload", body, token)
    assert env["errCode"] == 1001, env
    assert detail in env["errDlt"]
    assert _search(server, user_id)["total"] == before


def test_search_and_delete_refuse_bad_input(server: ServerProcess) -> None:
    admin = server.admin_token()
    backwards = _env(server, "/third/logs/search", {"startTime": 20, "endTime": 10, "pagination": PAGE}, admin)
    assert backwards["errCode"] == 1001 and "startTime>endTime" in backwards["errDlt"]
    assert _env(server, "/third/logs/search", {"keyword": "x"}, admin)["errCode"] == 1001  # no pagination
    assert _env(server, "/third/logs/delete", {"logIDs": []}, admin)["errCode"] == 1001
