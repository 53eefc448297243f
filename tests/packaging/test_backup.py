"""`openim backup` of a running embedded server, taken while messages are being sent, and `openim restore`
into the same place: the restored server has exactly the history the backup caught -- a gapless prefix of
what was sent, message for message (seq, serverMsgID, clientMsgID, sendTime, content) -- and goes on from it."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.binary, pytest.mark.timeout(300)]

CONV = "si_ann_ben"
FIELDS = ("seq", "serverMsgID", "clientMsgID", "sendID", "recvID", "sendTime", "content", "contentType")


class Api:
    def __init__(self, base: str, secret: str) -> None:
        self.base, self.secret, self.token = base, secret, ""

    def call(self, path: str, body: Any, token: str | None = None) -> Any:
        req = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"operationID": "t-backup", "token": token or self.token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=15) as resp:
            answer = json.load(resp)
        assert answer["errCode"] == 0, (path, answer)
        return answer.get("data")

    def login(self) -> None:
        self.token = self.call("/auth/get_admin_token", {"secret": self.secret, "userID": "imAdmin"})["token"]

    def send(self, n: int) -> None:
        self.call(
            "/msg/send_msg",
            {
                "sendID": "ann",
                "recvID": "ben",
                "senderPlatformID": 5,
                "content": {"content": f"message {n}"},
                "contentType": 101,
                "sessionType": 1,
            },
        )

    def history(self) -> list[dict[str, Any]]:
        data = self.call(
            "/msg/pull_msg_by_seq",
            {"userID": "ann", "seqRanges": [{"conversationID": CONV, "begin": 1, "end": 10_000, "num": 10_000}]},
            token=self.call("/auth/get_user_token", {"userID": "ann", "platformID": 5})["token"],
        )
        entry = data["msgs"].get(CONV)
        return [{k: m.get(k) for k in FIELDS} for m in (entry["Msgs"] if entry else [])]


def _cli(binary: Path, env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_backup_while_sending_restores_an_identical_history(
    binary: Path, clean_env: dict[str, str], tmp_path: Path, procs: Any
) -> None:
    cfg = procs.write_config(tmp_path)
    secret = next(line.split('"')[1] for line in cfg.path.read_text().splitlines() if line.startswith("secret:"))
    server = procs.start([str(binary), "serve", "-c", str(cfg.path)], env=clean_env, cwd=tmp_path)
    procs.wait_ok(cfg.base_url + "/healthz", server)
    api = Api(cfg.base_url, secret)
    api.login()
    api.call("/user/user_register", {"users": [{"userID": u, "nickname": u} for u in ("ann", "ben")]})
    for n in range(20):
        api.send(n)
    before = api.history()
    assert [m["seq"] for m in before] == list(range(1, 21))

    # keep sending while the backup is taken
    stop = threading.Event()
    sent: list[int] = []

    def keep_sending() -> None:
        n = 20
        while not stop.is_set() and n < 2000:
            api.send(n)
            sent.append(n)
            n += 1

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        while len(sent) < 10:
            stop.wait(0.05)
        target = tmp_path / "backups" / "snapshot.db"
        result = _cli(binary, clean_env, tmp_path, "backup", "-c", str(cfg.path), "-o", str(target))
        stop.wait(0.3)  # and a little after it
    finally:
        stop.set()
        sender.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backup: {target} (") and " messages)" in result.stdout, result.stdout
    assert target.stat().st_mode & 0o777 == 0o600
    full = api.history()
    assert len(full) == 20 + len(sent)

    # restoring under a running server is refused
    result = _cli(binary, clean_env, tmp_path, "restore", "-c", str(cfg.path), str(target))
    assert result.returncode == 1 and "stop it first" in result.stderr, result.stdout + result.stderr

    code, _ = server.stop(signal.SIGTERM, procs.shutdown_timeout_s + 10)
    assert code == 0, server.output()
    result = _cli(binary, clean_env, tmp_path, "restore", "-c", str(cfg.path), str(target))
    assert result.returncode == 0, result.stderr
    assert "previous database kept as" in result.stdout, result.stdout

    server = procs.start([str(binary), "serve", "-c", str(cfg.path)], env=clean_env, cwd=tmp_path)
    procs.wait_ok(cfg.base_url + "/healthz", server)
    api.login()
    restored = api.history()
    # a consistent snapshot: everything sent before the backup began, then a prefix of the rest, no gap
    assert len(before) <= len(restored) <= len(full)
    assert restored == full[: len(restored)]
    assert [m["seq"] for m in restored] == list(range(1, len(restored) + 1))
    # and the restored server goes on from there: the next message takes the next seq
    api.send(99_999)
    after = api.history()
    assert after[:-1] == restored and after[-1]["seq"] == len(restored) + 1
