"""The `openim` command line: init, config check/print, serve's refusals, version (in-process, via CliRunner)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

import openim.config_load as config_load
from openim import __version__
from openim.cli import cli
from openim.config import EXAMPLE_SECRET
from openim.config_load import load_config

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty working directory, no OPENIM_* variables, no /data/openim/config.yaml of this machine."""
    for name in list(os.environ):
        if name.startswith("OPENIM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config_load, "DEFAULT_PATHS", (tmp_path / "absent" / "config.yaml", Path("config.yaml")))


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


# -- init -------------------------------------------------------------------------------------------------


def test_init_writes_a_private_config_with_a_fresh_secret(tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "config.yaml", tmp_path / "two" / "config.yaml"
    r1 = run("init", "-c", str(first), "--data-dir", str(tmp_path / "data1"))
    r2 = run("init", "-c", str(second), "--data-dir", str(tmp_path / "data2"))
    assert r1.exit_code == 0 and r2.exit_code == 0, (r1.output, r2.output)

    for path in (first, second):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret1 = yaml.safe_load(first.read_text())["secret"]
    secret2 = yaml.safe_load(second.read_text())["secret"]
    assert secret1 != secret2
    assert EXAMPLE_SECRET not in (secret1, secret2)
    assert len(secret1) >= 32

    loaded = load_config(str(first), env={})  # what init writes is a valid config
    assert loaded.config.secret == secret1
    assert loaded.config.data_dir == str(tmp_path / "data1")
    assert (tmp_path / "data1").is_dir()


def test_init_defaults_to_config_yaml_in_the_working_directory(tmp_path: Path) -> None:
    result = run("init")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "config.yaml").is_file()
    assert (tmp_path / "data").is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the file to group 10001 needs root")
def test_init_container_writes_a_config_the_image_user_can_read(tmp_path: Path) -> None:
    """The image runs as uid/gid 10001: a root-owned 0600 file mounted read-only is unreadable there."""
    target = tmp_path / "srv" / "config.yaml"
    result = run("init", "--container", "-c", str(target))
    assert result.exit_code == 0, result.output

    st = target.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640  # group-readable, nothing for others
    assert st.st_gid == 10001
    loaded = load_config(str(target), env={})
    assert loaded.config.data_dir == "/data/openim/data"  # the image's data volume
    assert not (tmp_path / "data").exists()  # nothing created on this side


def test_init_container_fails_cleanly_when_the_group_cannot_be_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    target = tmp_path / "config.yaml"
    result = run("init", "--container", "-c", str(target))
    assert result.exit_code != 0
    assert "group 10001" in result.stderr and "root" in result.stderr
    assert not target.exists()  # no file left that the container could not read


def test_an_unreadable_config_names_the_uid_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "config.yaml"
    target.write_text("secret: x\n")
    real_read_text = Path.read_text

    def denied(self: Path, *args: object, **kwargs: object) -> str:
        if self == target:  # what a non-root reader of a root-owned 0600 file gets (root itself reads anything)
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", denied)
    result = run("config", "check", "-c", str(target))
    assert result.exit_code != 0
    assert "Permission denied" in result.output
    assert f"uid {os.getuid()}" in result.output and "openim init --container" in result.output


def test_init_puts_a_relative_data_dir_beside_the_config_it_writes(tmp_path: Path) -> None:
    result = run("init", "-c", "etc/openim/config.yaml")  # --data-dir ./data: from the file's folder
    assert result.exit_code == 0, result.output
    assert (tmp_path / "etc" / "openim" / "data").is_dir() and not (tmp_path / "data").exists()
    loaded = load_config(str(tmp_path / "etc" / "openim" / "config.yaml"), env={})
    assert loaded.config.data_dir == str(tmp_path / "etc" / "openim" / "data")


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    assert run("init", "-c", str(target)).exit_code == 0
    before = target.read_text()

    refused = run("init", "-c", str(target))
    assert refused.exit_code != 0
    assert "--force" in refused.stderr
    assert target.read_text() == before

    forced = run("init", "-c", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert target.read_text() != before  # a new secret
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


# -- config check / print ----------------------------------------------------------------------------------


def test_config_check_accepts_the_example(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.yaml"
    result = run("config", "check", "-c", str(example))
    assert result.exit_code == 0, result.output
    assert str(example) in result.stdout
    # the example secret is worth a warning, naming the fix
    assert result.stderr.startswith(f"warning: {example}: secret: the public example value 'openIM123' ")
    assert "openim init" in result.stderr and "OPENIM_SECRET" in result.stderr


def test_config_check_reports_one_line_with_file_key_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("gateway:\n  max_frame_size: huge\n", encoding="utf-8")
    result = run("config", "check", "-c", str(bad))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0] and "gateway.max_frame_size" in lines[0] and "size" in lines[0]
    assert result.stdout == ""


def test_config_check_names_a_bad_environment_variable(tmp_path: Path) -> None:
    result = run("config", "check", env={"OPENIM_API__PORT": "http"})
    assert result.exit_code == 2
    assert "OPENIM_API__PORT" in result.stderr and "api.port" in result.stderr


def test_config_check_finds_the_file_through_openim_config(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text("api: {port: 10012}\n", encoding="utf-8")
    result = run("config", "check", env={"OPENIM_CONFIG": str(path)})
    assert result.exit_code == 0, result.output
    assert str(path) in result.stdout


def test_config_print_masks_the_secret_and_shows_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        'secret: "very-private-value"\nstorage:\n  postgres_dsn: postgresql://im:db-password@db/openim\n',
        encoding="utf-8",
    )
    result = run("config", "print", "-c", str(path), env={"OPENIM_API__PORT": "10012"})
    assert result.exit_code == 0, result.output
    assert "very-private-value" not in result.output and "db-password" not in result.output
    assert result.stdout.startswith(f"# source: {path}\n")
    data = yaml.safe_load(result.stdout)
    assert data["secret"] == "****"
    assert data["api"]["port"] == 10012

    as_json = run("config", "print", "-c", str(path), "--json")
    assert as_json.exit_code == 0
    parsed = json.loads(as_json.stdout)
    assert parsed["secret"] == "****"
    assert "very-private-value" not in as_json.stdout


def test_config_print_with_nothing_shows_the_defaults() -> None:
    result = run("config", "print", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["api"]["port"] == 10002 and data["storage"]["backend"] == "sqlite"


# -- serve's refusals (they exit before anything starts) ----------------------------------------------------


@pytest.mark.parametrize("modules", ["foo", "api,foo", ","])
def test_serve_refuses_unknown_modules(modules: str) -> None:
    result = run("serve", "-m", modules)
    assert result.exit_code == 2
    assert "module" in result.stderr
    if "foo" in modules:
        assert "foo" in result.stderr


def test_serve_in_cluster_mode_refuses_the_example_secret(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    # Nothing listens on port 1: should the refusal ever be skipped, serve fails fast instead of hanging.
    path.write_text(
        "storage:\n  backend: postgres\n  postgres_dsn: postgresql://127.0.0.1:1/openim\n", encoding="utf-8"
    )
    result = run("serve", "-c", str(path))
    assert result.exit_code == 2
    assert "secret" in result.stderr and str(path) in result.stderr


def test_serve_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("api:\n  port: -1\n", encoding="utf-8")
    result = run("serve", "-c", str(bad))
    assert result.exit_code == 2
    assert "api.port" in result.stderr


# -- version ---------------------------------------------------------------------------------------------


def test_version_prints_version_commit_and_build(tmp_path: Path) -> None:
    result = run("version")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"openim {__version__} (commit ")
    assert "built " in result.stdout
    assert result.stdout.endswith(", pure Python)\n"), "a source checkout runs no compiled module of ours"


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("serve", "config", "init", "version"):
        assert command in result.stdout
