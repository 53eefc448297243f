"""The default node id (openim.node.default_node_id): the same at every start of one process on one data
dir, different for the processes beside it (other modules, other ports) and for another data dir."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from openim.config import Config
from openim.node import INSTANCE_FILE, default_node_id, instance_token

ALL = ("api", "gateway", "msg", "transfer", "push")


def _config(data_dir: Path, **overrides: object) -> Config:
    return Config.model_validate({"data_dir": str(data_dir), **overrides})


def test_stable_across_starts_and_written_once(tmp_path: Path) -> None:
    first = default_node_id(_config(tmp_path / "data"), ALL)
    token = (tmp_path / "data" / INSTANCE_FILE).read_text()
    assert first.startswith(socket.gethostname() + "-") and len(first.rsplit("-", 1)[1]) == 8
    assert "|" not in first
    assert default_node_id(_config(tmp_path / "data"), ALL) == first
    assert (tmp_path / "data" / INSTANCE_FILE).read_text() == token
    assert [p.name for p in (tmp_path / "data").iterdir()] == [INSTANCE_FILE]  # no temporary file left


def test_distinct_for_processes_beside_it_and_for_another_data_dir(tmp_path: Path) -> None:
    base = default_node_id(_config(tmp_path / "a"), ALL)
    others = {
        default_node_id(_config(tmp_path / "a"), ("gateway",)),
        default_node_id(_config(tmp_path / "a"), ("transfer", "push")),
        default_node_id(_config(tmp_path / "a", api={"port": 10012}), ALL),
        default_node_id(_config(tmp_path / "a", gateway={"port": 10011}), ALL),
        default_node_id(_config(tmp_path / "a", ops={"port": 10091}), ALL),
        default_node_id(_config(tmp_path / "b"), ALL),
    }
    assert base not in others and len(others) == 6


def test_processes_starting_together_on_a_new_data_dir_agree(tmp_path: Path) -> None:
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(instance_token(tmp_path / "d"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1 and tokens[0]


def test_unusable_data_dir_falls_back_to_hostname_pid(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the data dir should be")
    assert default_node_id(_config(tmp_path / "data"), ALL) == f"{socket.gethostname()}-{os.getpid()}"
