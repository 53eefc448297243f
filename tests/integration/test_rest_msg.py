"""/msg/* against a real server process, over HTTP as admin tools and the SDK see them: admin sends and
pulls (gapless seqs), binding errors, revoke, read marks, delete-for-me and clearing history."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the fixture module is conftest.py, which pytest loads itself
    from conftest import ServerProcess

CONV = "si_mia_noah"  # sorted pair of the two users below


@pytest.fixture(scope="module")
def admin(server: ServerProcess) -> str:
    return server.admin_token()


@pytest.fixture(scope="module")
def tokens(server: ServerProcess, admin: str) -> dict[str, str]:
    """mia, noah and olga registered; their user tokens (platform Web)."""
    server.call(
        "/user/user_register",
        {"users": [{"userID": u, "nickname": u.title()} for u in ("mia", "noah", "olga")]},
        token=admin,
    )
    return {uid: server.user_token(uid) for uid in ("mia", "noah", "olga")}


def text_body(send_id: str, recv_id: str, text: str) -> dict[str, Any]:
    return {
        "sendID": send_id,
        "recvID": recv_id,
        "senderPlatformID": 5,
        "content": {"content": text},
        "contentType": 101,
        "sessionType": 1,
    }


def send(server: ServerProcess, admin: str, send_id: str, recv_id: str, text: str) -> dict[str, Any]:
    data: dict[str, Any] = server.call("/msg/send_msg", text_body(send_id, recv_id, text), token=admin)
    return data


def pull(
    server: ServerProcess, token: str, user_id: str, conv: str = CONV, begin: int = 1, end: int = 1000
) -> list[Any]:
    data = server.call(
        "/msg/pull_msg_by_seq",
        {
            "userID": user_id,
            "seqRanges": [{"conversationID": conv, "begin": begin, "end": end, "num": 1000}],
            "order": 0,
        },
        token=token,
    )
    entry = data["msgs"].get(conv)
    return list(entry["Msgs"]) if entry else []


def content_of(msg: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(msg["content"]))


def seqs_of(server: ServerProcess, token: str, user_id: str) -> dict[str, Any]:
    data = server.call(
        "/msg/get_conversations_has_read_and_max_seq", {"userID": user_id, "conversationIDs": [CONV]}, token=token
    )
    result: dict[str, Any] = data["seqs"][CONV]
    return result


def err_code(server: ServerProcess, path: str, body: Any, token: str) -> int:
    resp = server.post(path, body, token=token)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["errCode"])


# -- sending and pulling ---------------------------------------------------------------------------------


def test_admin_send_then_pull_with_gapless_seqs(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    first = send(server, admin, "mia", "noah", "hello 0")
    assert set(first) >= {"serverMsgID", "clientMsgID", "sendTime"}
    assert len(first["clientMsgID"]) == 32 and first["sendTime"] > 0
    [msg] = pull(server, tokens["noah"], "noah")
    assert (msg["seq"], msg["clientMsgID"], msg["serverMsgID"]) == (1, first["clientMsgID"], first["serverMsgID"])
    assert (msg["sendID"], msg["recvID"], msg["msgFrom"], msg["contentType"]) == ("mia", "noah", 200, 101)
    assert content_of(msg) == {"content": "hello 0"}

    for i in range(1, 20):
        send(server, admin, "mia" if i % 2 else "noah", "noah" if i % 2 else "mia", f"hello {i}")
    msgs = pull(server, tokens["mia"], "mia")
    assert [m["seq"] for m in msgs] == list(range(1, 21))
    assert [content_of(m)["content"] for m in msgs] == [f"hello {i}" for i in range(20)]

    newest = server.call("/msg/newest_seq", {"userID": "mia"}, token=tokens["mia"])
    assert newest["maxSeqs"][CONV] == 20


def test_send_status_and_server_time(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    headers = {"operationID": "it-status-1", "token": admin}
    resp = server.post("/msg/send_msg", text_body("mia", "olga", "status"), **headers)
    assert resp.json()["errCode"] == 0
    status = server.post("/msg/check_msg_is_send_success", {}, **headers).json()["data"]
    assert status == {"status": 2}
    unknown = server.call("/msg/check_msg_is_send_success", {}, token=admin)
    assert unknown == {"status": 0}
    now = server.call("/msg/get_server_time", {}, token=tokens["mia"])["serverTime"]
    assert now > 1_700_000_000_000


def test_send_msg_binding_and_content_errors(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    for broken in (
        {k: v for k, v in text_body("mia", "noah", "x").items() if k != "sendID"},
        {k: v for k, v in text_body("mia", "noah", "x").items() if k != "content"},
        {**text_body("mia", "noah", "x"), "recvID": ""},
        {**text_body("mia", "noah", "x"), "contentType": "101"},  # a string where a number belongs
    ):
        resp = server.post("/msg/send_msg", broken, token=admin)
        assert resp.status_code == 400, resp.text
        assert resp.json()["errCode"] == 1001
    # Bound fine, but the content is wrong for its type or the type is not sendable: 1001 with HTTP 200.
    assert err_code(server, "/msg/send_msg", {**text_body("mia", "noah", "x"), "content": {"text": "x"}}, admin) == 1001
    assert err_code(server, "/msg/send_msg", {**text_body("mia", "noah", "x"), "contentType": 108}, admin) == 1001
    # Only an app admin sends through the REST API.
    assert err_code(server, "/msg/send_msg", text_body("mia", "noah", "x"), tokens["mia"]) == 1002


def test_batch_send(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    body = {**text_body("olga", "", "to all of you"), "recvIDs": ["mia", "noah", "nobody"]}
    body.pop("recvID")
    data = server.call("/msg/batch_send_msg", body, token=admin)
    assert [r["recvID"] for r in data["results"]] == ["mia", "noah"]
    assert data["failedUserIDs"] == ["nobody"]
    assert len({r["clientMsgID"] for r in data["results"]}) == 2
    [msg] = pull(server, tokens["mia"], "mia", "si_mia_olga")[-1:]
    assert content_of(msg) == {"content": "to all of you"}


# -- revoke ----------------------------------------------------------------------------------------------


def test_revoke(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    send(server, admin, "mia", "noah", "oops")
    seq = pull(server, tokens["noah"], "noah")[-1]["seq"]
    revoke = {"conversationID": CONV, "seq": seq, "userID": "noah"}
    assert err_code(server, "/msg/revoke_msg", revoke, tokens["noah"]) == 1002  # not the sender
    assert err_code(server, "/msg/revoke_msg", {**revoke, "userID": "mia"}, tokens["noah"]) == 1002  # not himself
    assert server.post("/msg/revoke_msg", {**revoke, "userID": "mia"}, token=tokens["mia"]).json() == {
        "errCode": 0,
        "errMsg": "",
        "errDlt": "",
    }
    pulled = pull(server, tokens["noah"], "noah", begin=seq, end=seq)[0]
    assert pulled["contentType"] == 2101
    details = json.loads(content_of(pulled)["detail"])
    assert (details["revokerID"], details["seq"], details["sourceMessageSendID"]) == ("mia", seq, "mia")
    assert err_code(server, "/msg/revoke_msg", {**revoke, "userID": "mia"}, tokens["mia"]) == 1404
    assert err_code(server, "/msg/revoke_msg", {**revoke, "userID": "mia", "seq": 9999}, tokens["mia"]) == 1004


# -- read marks ------------------------------------------------------------------------------------------


def test_mark_conversation_as_read(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    send(server, admin, "mia", "noah", "read me")
    before = seqs_of(server, tokens["noah"], "noah")
    assert before["hasReadSeq"] < before["maxSeq"]
    mark = {"conversationID": CONV, "userID": "noah", "hasReadSeq": before["maxSeq"], "seqs": []}
    server.call("/msg/mark_conversation_as_read", mark, token=tokens["noah"])
    after = seqs_of(server, tokens["noah"], "noah")
    assert after["hasReadSeq"] == after["maxSeq"] == before["maxSeq"]
    assert after["maxSeqTime"] > 0

    assert err_code(server, "/msg/mark_conversation_as_read", {**mark, "seqs": [0]}, tokens["noah"]) == 1001
    assert err_code(server, "/msg/mark_conversation_as_read", {**mark, "hasReadSeq": 0}, tokens["noah"]) == 1001
    assert err_code(server, "/msg/mark_conversation_as_read", {**mark, "userID": "olga"}, tokens["olga"]) == 1004
    assert err_code(server, "/msg/mark_conversation_as_read", mark, tokens["mia"]) == 1002  # for someone else
    # a lower mark never lowers it
    server.call("/msg/mark_conversation_as_read", {**mark, "hasReadSeq": 1}, token=tokens["noah"])
    assert seqs_of(server, tokens["noah"], "noah")["hasReadSeq"] == before["maxSeq"]


def test_pulled_messages_carry_the_peers_read_flag(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    """OpenIM flags a single-chat message read when the other participant marks it read; every later pull
    (a new device, a new login) returns isRead from that flag, for both participants."""
    server.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ("rita", "sam")]}, token=admin)
    conv = "si_rita_sam"
    for i in (1, 2, 3):
        send(server, admin, "rita", "sam", f"to sam {i}")
    sam, rita = server.user_token("sam"), server.user_token("rita")

    def read_flags(token: str, user_id: str) -> list[bool]:
        return [bool(m["isRead"]) for m in pull(server, token, user_id, conv)]

    assert read_flags(rita, "rita") == [False, False, False]
    mark = {"conversationID": conv, "userID": "sam", "hasReadSeq": 2, "seqs": []}
    server.call("/msg/mark_conversation_as_read", mark, token=sam)
    rita = server.user_token("rita")  # a fresh login (the older token is kicked)
    assert read_flags(rita, "rita") == [True, True, False]
    assert read_flags(sam, "sam") == [True, True, False]

    # sam answers without reading 3 (his own send raises his mark to 4), then marks 3 read by listing it
    send(server, admin, "sam", "rita", "to rita 4")
    assert read_flags(rita, "rita") == [True, True, False, False]
    server.call("/msg/mark_conversation_as_read", {**mark, "hasReadSeq": 4, "seqs": [3]}, token=sam)
    assert read_flags(rita, "rita") == [True, True, True, False]  # sam's own message is not read by sam
    server.call("/msg/mark_msgs_as_read", {"conversationID": conv, "userID": "rita", "seqs": [4]}, token=rita)
    assert read_flags(sam, "sam") == [True, True, True, True]


# -- delete and clear ------------------------------------------------------------------------------------


def test_delete_msgs_hides_for_one_user_only(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    send(server, admin, "noah", "mia", "delete me")
    seq = pull(server, tokens["mia"], "mia")[-1]["seq"]
    server.call("/msg/delete_msgs", {"conversationID": CONV, "seqs": [seq], "userID": "mia"}, token=tokens["mia"])
    mine = pull(server, tokens["mia"], "mia", begin=seq, end=seq)[0]
    assert (mine["status"], mine["content"]) == (4, "")
    theirs = pull(server, tokens["noah"], "noah", begin=seq, end=seq)[0]
    assert theirs["status"] == 2 and content_of(theirs) == {"content": "delete me"}
    assert (
        err_code(server, "/msg/delete_msgs", {"conversationID": CONV, "seqs": [], "userID": "mia"}, tokens["mia"])
        == 1001
    )


def test_clear_conversation_for_one_user_only(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    send(server, admin, "mia", "noah", "old news")
    max_seq = seqs_of(server, tokens["noah"], "noah")["maxSeq"]
    server.call("/msg/clear_conversation_msg", {"conversationIDs": [CONV], "userID": "noah"}, token=tokens["noah"])
    assert pull(server, tokens["noah"], "noah") == []
    assert len(pull(server, tokens["mia"], "mia")) == max_seq
    cleared = seqs_of(server, tokens["noah"], "noah")
    assert (cleared["maxSeq"], cleared["hasReadSeq"]) == (max_seq, max_seq)
    send(server, admin, "mia", "noah", "fresh")
    assert [content_of(m) for m in pull(server, tokens["noah"], "noah")] == [{"content": "fresh"}]


def test_admin_physical_delete_and_clear_all(server: ServerProcess, admin: str, tokens: dict[str, str]) -> None:
    conv = "si_mia_olga"
    seq = pull(server, tokens["olga"], "olga", conv)[-1]["seq"]
    body = {"conversationID": conv, "seqs": [seq]}
    assert err_code(server, "/msg/delete_msg_phsical_by_seq", body, tokens["olga"]) == 1002  # admin only
    server.call("/msg/delete_msg_phsical_by_seq", body, token=admin)
    for user in ("mia", "olga"):  # gone for everyone; the seq stays as a placeholder
        assert pull(server, tokens[user], user, conv, begin=seq, end=seq)[0]["status"] == 4

    server.call("/msg/user_clear_all_msg", {"userID": "olga"}, token=tokens["olga"])
    assert pull(server, tokens["olga"], "olga", conv) == []
    assert pull(server, tokens["mia"], "mia", conv) != []
