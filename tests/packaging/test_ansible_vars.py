"""What each host of an inventory gets from packaging/ansible/site.yml, asked of the real ansible-playbook.

`--tags settings` runs only the role's checks and its print of the resolved settings, on the control
machine: the play gathers no facts, and the throwaway inventories' hosts are local
(`ansible_connection=local`, `ansible_become=false`) besides; HOME and Ansible's temp are in tmp_path.
ansible-core comes from the dev extras (pyproject.toml), installed beside this interpreter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "packaging" / "ansible" / "site.yml"
BIN = Path(sys.executable).parent
SECRET = "0123456789abcdef0123456789abcdef"


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home), "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PYTHONWARNINGS": "ignore",
    }


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: pip install -e '.[dev]' (ansible-core)")
    return str(path)


def _run(args: list[str], cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(tmp_path), capture_output=True, text=True, timeout=240,
                          check=False)


def _settings(output: str) -> dict[str, dict[str, Any]]:
    """The `What this host gets` prints of the default callback, by host."""
    found = {}
    for match in re.finditer(r"^ok: \[([^\]]+)\] => (\{\n.*?\n\})$", output, re.S | re.M):
        body = json.loads(match.group(2))
        if "openim_settings" in body:
            found[match.group(1)] = body["openim_settings"]
    return found


def _vault_secret(directory: Path, password_file: Path, tmp_path: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    result = _run([_tool("ansible-vault"), "encrypt_string", "--vault-password-file", str(password_file), SECRET,
                   "--name", "openim_secret"], tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr
    (directory / "secret.yml").write_text(result.stdout, encoding="utf-8")


LOCAL = "ansible_host=127.0.0.1 ansible_connection=local ansible_become=false"
INVENTORY = f"""
[openim_edge]
edge-a {LOCAL}
both-c {LOCAL}

[openim_core]
core-b {LOCAL} openim_redis_url=redis://10.0.9.9:6379/3
both-c

[openim:children]
openim_edge
openim_core

[openim:vars]
openim_postgres_dsn=postgresql://openim:pw@10.0.0.31:5432/openim
openim_redis_url=redis://10.0.0.32:6379/0

[openim_core:vars]
openim_postgres_dsn=postgresql://openim:pw@10.0.0.41:5432/core
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where ansible-playbook runs: a throwaway inventory, its vaulted secret and a binary in dist/."""
    work = tmp_path / "work"
    (work / "inventory").mkdir(parents=True)
    (work / "inventory" / "hosts.ini").write_text(INVENTORY, encoding="utf-8")
    (work / "vault-password").write_text("test-vault-password\n", encoding="utf-8")
    _vault_secret(work / "inventory" / "group_vars" / "openim", work / "vault-password", tmp_path)
    (work / "dist").mkdir()
    (work / "dist" / "openim").write_bytes(b"\x7fELF not really")
    return work


def _playbook(work: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _run([_tool("ansible-playbook"), "-i", "inventory/hosts.ini", str(SITE), "--tags", "settings",
                 "--vault-password-file", "vault-password", *extra], work, tmp_path)


def test_the_inventory_beats_the_defaults_per_group_and_host(workdir: Path, tmp_path: Path) -> None:
    result = _playbook(workdir, tmp_path, "-e", "openim_binary=dist/openim")
    assert result.returncode == 0, result.stdout + result.stderr
    settings = _settings(result.stdout)
    common = {
        "postgres_pool_size": 10, "redis_key_prefix": "openim:", "processes": 1, "per_module": False,
        "upgrade": False, "advertise_host": "127.0.0.1",
        "binary": str(workdir / "dist" / "openim"),  # relative to where ansible-playbook ran
        "install_script": str(ROOT / "scripts" / "install.sh"),
    }
    assert settings == {
        "edge-a": common | {"modules": "gateway,api",
                            "postgres_dsn": "postgresql://openim:pw@10.0.0.31:5432/openim",  # [openim:vars]
                            "redis_url": "redis://10.0.0.32:6379/0"},
        "core-b": common | {"modules": "msg,transfer,push",
                            "postgres_dsn": "postgresql://openim:pw@10.0.0.41:5432/core",  # [openim_core:vars]
                            "redis_url": "redis://10.0.9.9:6379/3"},  # its own line
        "both-c": common | {"modules": "all",
                            "postgres_dsn": "postgresql://openim:pw@10.0.0.41:5432/core",
                            "redis_url": "redis://10.0.0.32:6379/0"},
    }, result.stdout


def test_a_missing_binary_stops_the_play_with_its_path(workdir: Path, tmp_path: Path) -> None:
    result = _playbook(workdir, tmp_path, "-e", "openim_binary=dist/not-built")
    assert result.returncode != 0
    assert f"openim_binary {workdir / 'dist' / 'not-built'} is not a file on this machine" in result.stdout, (
        result.stdout + result.stderr
    )
    assert _settings(result.stdout) == {}  # nothing got past the check


def test_the_docs_steps_give_every_host_the_inventory_addresses(tmp_path: Path) -> None:
    """docs/operations.md's Multi-host commands, run as written from a copy of the repository's root."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "packaging" / "ansible", repo / "packaging" / "ansible")
    (repo / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "install.sh", repo / "scripts" / "install.sh")
    (repo / "vault-password").write_text("test-vault-password\n", encoding="utf-8")

    docs = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Multi-host") :]
    section = section[: section.index("\n## ", 5)]
    commands = [line[4:] for line in section.splitlines() if line.startswith("    ") and line.strip()]
    assert any("encrypt_string" in c for c in commands) and not any(">>" in c for c in commands), commands
    printed = ""
    for command in commands:
        if command == "make binary":
            (repo / "dist").mkdir()
            (repo / "dist" / "openim").write_bytes(b"\x7fELF not really")
            continue
        if "-e openim_upgrade=true" in command:
            continue  # the same play, later
        vault = "--vault-password-file vault-password"
        command = command.replace("--ask-vault-pass", vault)
        if command.startswith("ansible-vault encrypt_string"):
            command = command.replace("encrypt_string", f"encrypt_string {vault}", 1)
        if command.startswith("ansible-playbook") and "--tags settings" not in command:
            continue  # would install: the settings print is this test's part of it
        for _ in range(2 if "encrypt_string" in command else 1):  # the secret step, twice: still one key
            result = _run(["bash", "-euo", "pipefail", "-c", command], repo, tmp_path)
            assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        if "--tags settings" in command:
            printed = result.stdout

    secret_file = repo / "inventory" / "group_vars" / "openim" / "secret.yml"
    assert list(yaml.safe_load(secret_file.read_text(encoding="utf-8").replace("!vault", "")) or {}) == [
        "openim_secret"
    ]
    assert secret_file.read_text(encoding="utf-8").count("openim_secret:") == 1
    settings = _settings(printed)
    assert set(settings) == {"im-edge-1", "im-edge-2", "im-core-1", "im-core-2"}, printed
    for host, got in settings.items():
        assert got["postgres_dsn"] == "postgresql://openim:CHANGE-ME@10.0.0.31:5432/openim", host
        assert got["redis_url"] == "redis://10.0.0.32:6379/0", host
        assert got["binary"] == str(repo / "dist" / "openim"), host  # make binary's output, found by default
    assert settings["im-core-1"]["modules"] == "msg,transfer,push"
    assert settings["im-edge-2"]["advertise_host"] == "10.0.0.12"


def test_no_defaults_beside_the_playbook() -> None:
    """group_vars/ or host_vars/ beside site.yml would outrank the inventory's group vars again."""
    ansible = ROOT / "packaging" / "ansible"
    assert not (ansible / "group_vars").exists() and not (ansible / "host_vars").exists()
    assert os.path.isfile(ansible / "roles" / "openim" / "defaults" / "main.yml")
