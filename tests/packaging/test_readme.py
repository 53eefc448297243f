"""What README.md tells someone on a fresh clone is true of the repository: the two set-up commands, where
`make run` puts the `openim` command, the ports and environment variables it names, the /admin secret under
`make run`, what makes cluster mode, and that the `.env` the container docs write is ignored by git."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from openim.config import EXAMPLE_SECRET, Config
from openim.config_load import load_config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.MULTILINE | re.DOTALL)
    assert found, f"README has no section {title!r}"
    return found.group(1)


def test_two_commands_on_a_fresh_clone_are_exactly_two() -> None:
    commands = re.findall(r"^    (\S.*)$", _section("Two commands on a fresh clone"), re.MULTILINE)
    assert commands == ["make run", "make test"], commands


def test_the_openim_command_of_make_run_is_where_the_readme_says() -> None:
    assert "`.venv/bin/openim`" in README
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^VENV\s*:=\s*\.venv$", makefile, re.MULTILINE)
    assert re.search(r"^BIN\s*:=\s*\$\(VENV\)/bin$", makefile, re.MULTILINE)
    run = re.search(r"^run: venv\n\texec \$\(BIN\)/openim serve ", makefile, re.MULTILINE)
    assert run, "make run does not run .venv/bin/openim"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^\[project\.scripts\]\nopenim = "openim\.cli:main"$', pyproject, re.MULTILINE)


def test_every_environment_variable_in_the_readme_sets_a_config_key(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    names = sorted(set(re.findall(r"\b(OPENIM_[A-Z0-9_]+)=", README)))
    assert {"OPENIM_API__PORT", "OPENIM_GATEWAY__PORT", "OPENIM_OPS__PORT", "OPENIM_SECRET"} <= set(names), names
    samples = {"PORT": "10123", "SECRET": "s" * 40, "BACKEND": "postgres"}
    build_only = {"OPENIM_COMPILE"}  # read by scripts/build_binary.sh, not by the server
    for name in build_only & set(names):
        assert name in (ROOT / "scripts" / "build_binary.sh").read_text(encoding="utf-8"), name
    for name in sorted(set(names) - build_only):
        value = samples[name.rsplit("_", 1)[1]]
        loaded = load_config(str(empty), env={name: value})
        assert loaded.overrides == (name,), f"{name} is not a config key"
        node: object = loaded.config
        for part in name.removeprefix("OPENIM_").lower().split("__"):
            node = getattr(node, part)
        assert str(node) == value, (name, node)


def test_ports_and_secret_of_make_run_are_the_defaults() -> None:
    defaults = Config()
    text = _section("Two commands on a fresh clone")
    ports = f"listens on {defaults.gateway.port} (WebSocket), {defaults.api.port} (REST, `/admin`, `/demo`)"
    assert ports in text and f"and {defaults.ops.port} (ops)" in text
    assert f"built-in example one, `{EXAMPLE_SECRET}`" in _section("Web console and demo")
    assert defaults.secret == EXAMPLE_SECRET


def test_postgres_alone_is_cluster_mode_as_the_readme_says() -> None:
    assert "PostgreSQL alone is cluster mode" in _section("Configuration")
    assert Config.model_validate({"storage": {"backend": "postgres"}}).is_cluster
    assert Config().storage.postgres_dsn in _section("Configuration").replace("\n", " ").replace("`", " ")


def test_the_env_file_of_the_container_docs_is_ignored_by_git() -> None:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    docs = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "> .env" in docs  # the Container section writes secrets into it
    for path in (".env", "packaging/.env"):
        result = subprocess.run([git, "-C", str(ROOT), "check-ignore", "-q", path], timeout=30, check=False)
        assert result.returncode == 0, f"{path} is not ignored by git: a secret would be committed with it"
