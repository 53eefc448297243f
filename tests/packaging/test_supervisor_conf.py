"""What `openim supervise` generates from supervisor.d/*.conf and the config, read back by supervisord's own
parser (the bundled `supervisor` package): the openim program(s), sidecars kept or skipped, ports per process.
No process is started here (test_supervise.py runs the binary)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from supervisor.datatypes import RestartUnconditionally

from openim.config import Config
from openim.config_load import LoadedConfig, load_config
from openim.deploy.supervise import (
    METRICS_MARKER,
    SuperviseError,
    make_plan,
    metrics_hosts_into,
    missing_command,
    write_plan,
)

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "storage:\n  backend: postgres\nbus:\n  backend: redis\n"


def _loaded(tmp_path: Path, body: str = "") -> LoadedConfig:
    path = tmp_path / "config.yaml"
    path.write_text(f'secret: "x-{os.getpid()}"\ndata_dir: "{tmp_path}/data"\n{body}', encoding="utf-8")
    return load_config(str(path), env={})


def _everything_installed(name: str) -> str:
    return f"/usr/bin/{name}"


def _parsed(plan: Any, loaded: LoadedConfig, tmp_path: Path) -> dict[str, Any]:
    """The generated files written as `openim supervise` writes them, and the config as supervisord reads it:
    process name -> its ProcessConfig."""
    from supervisor.options import ServerOptions

    write_plan(plan, loaded, tmp_path)
    conf = plan.conf_path
    saved = dict(os.environ)
    os.environ.update(plan.environ)
    try:
        options = ServerOptions()
        options.realize(args=["-c", str(conf)])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {pc.name: pc for group in options.process_group_configs for pc in group.process_configs}


def test_one_process_of_every_module_with_the_sidecars_where_installed(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    plan = make_plan(loaded, cwd=tmp_path, which=_everything_installed, environ={})
    # the Beats' commands are absolute paths: absent on this machine, so skipped with a reason each
    assert plan.programs == ["openim"]
    assert [name for name, _ in plan.skipped] == ["filebeat", "metricbeat"]
    assert all("not installed" in why for _, why in plan.skipped)

    procs = _parsed(plan, loaded, tmp_path)
    openim = procs["openim"]
    assert openim.command.endswith(" serve --module all")
    assert openim.autorestart is RestartUnconditionally
    assert openim.stopsignal == signal.SIGTERM
    # supervisord must give the server its whole shutdown timeout before SIGKILL
    assert openim.stopwaitsecs > Config().shutdown_timeout
    assert openim.stopasgroup is False and openim.killasgroup is True
    assert Path(openim.stderr_logfile) == tmp_path / "data" / "logs" / "openim.log"
    assert openim.directory == str(tmp_path)
    assert plan.environ["OPENIM_CONFIG"] == str(tmp_path / "config.yaml")
    assert plan.metrics_hosts == ["127.0.0.1:10002"]


def test_sidecars_are_kept_when_their_binary_is_installed(tmp_path: Path) -> None:
    programs = tmp_path / "programs"
    programs.mkdir()
    for name in ("openim", "filebeat", "metricbeat"):
        text = (ROOT / "supervisor.d" / f"{name}.conf").read_text(encoding="utf-8")
        fake = tmp_path / f"fake-{name}"
        fake.write_text("#!/bin/sh\nexec sleep 1000\n", encoding="utf-8")
        fake.chmod(0o755)
        (programs / f"{name}.conf").write_text(
            text.replace(f"/usr/share/{name}/bin/{name}", str(fake)), encoding="utf-8"
        )
    loaded = _loaded(tmp_path, f'supervise:\n  programs_dir: "{programs}"\n  log_dir: "{tmp_path}/logs"\n')
    plan = make_plan(loaded, cwd=tmp_path, environ={})
    assert plan.programs == ["openim", "filebeat", "metricbeat"] and plan.skipped == []

    procs = _parsed(plan, loaded, tmp_path)
    for beat in ("filebeat", "metricbeat"):
        command = procs[beat].command
        assert command.split()[0] == str(tmp_path / f"fake-{beat}")
        assert f"-c {tmp_path}/data/supervise/{beat}.yml" in command
        assert procs[beat].autorestart is RestartUnconditionally
        assert Path(procs[beat].stdout_logfile).parent == tmp_path / "logs"


def test_processes_get_ports_of_their_own_in_cluster_mode(tmp_path: Path) -> None:
    body = CLUSTER + "node_id: edge\napi:\n  port: 20002\nsupervise:\n  modules: gateway,api\n  processes: 3\n"
    loaded = _loaded(tmp_path, body)
    plan = make_plan(loaded, cwd=tmp_path, which=_everything_installed, environ={})
    assert plan.programs == ["openim-0", "openim-1", "openim-2"]
    assert plan.metrics_hosts == ["127.0.0.1:20002", "127.0.0.1:20012", "127.0.0.1:20022"]

    procs = _parsed(plan, loaded, tmp_path)
    written = (plan.run_dir / "metricbeat.yml").read_text(encoding="utf-8")
    assert '"127.0.0.1:20002", "127.0.0.1:20012", "127.0.0.1:20022"' in written
    assert set(procs) == {"openim-0", "openim-1", "openim-2"}
    for n in range(3):
        proc = procs[f"openim-{n}"]
        assert proc.command.endswith(" serve --module api,gateway")
        assert proc.environment["OPENIM_API__PORT"] == str(20002 + 10 * n)
        assert proc.environment["OPENIM_GATEWAY__PORT"] == str(10001 + 10 * n)
        assert proc.environment["OPENIM_OPS__PORT"] == str(10090 + 10 * n)
        assert proc.environment["OPENIM_NODE_ID"] == f"edge-{n}"
        assert Path(proc.stderr_logfile).name == f"openim-{n}.log"


def test_processes_without_the_api_module_are_scraped_on_their_ops_port(tmp_path: Path) -> None:
    body = CLUSTER + "supervise:\n  modules: transfer,push\n  processes: 2\n"
    plan = make_plan(_loaded(tmp_path, body), cwd=tmp_path, which=_everything_installed, environ={})
    assert plan.metrics_hosts == ["127.0.0.1:10090", "127.0.0.1:10100"]
    text = (ROOT / "packaging" / "metricbeat.yml").read_text(encoding="utf-8")
    assert METRICS_MARKER in text
    rendered = metrics_hosts_into(text, plan.metrics_hosts)
    assert f'hosts: ["127.0.0.1:10090", "127.0.0.1:10100"]  {METRICS_MARKER}' in rendered


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("supervise:\n  processes: 2\n", "supervise.processes"),
        ("supervise:\n  modules: gateway\n", "supervise.modules"),
    ],
)
def test_the_embedded_mode_refuses_more_than_one_process(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(SuperviseError, match=f"^{key}: .*cluster mode"):
        make_plan(_loaded(tmp_path, body), cwd=tmp_path, which=_everything_installed, environ={})


def test_an_unknown_module_is_a_config_error(tmp_path: Path) -> None:
    from openim.config import ConfigError

    with pytest.raises(ConfigError, match=r"supervise\.modules: expected 'all' or a comma list"):
        _loaded(tmp_path, "supervise:\n  modules: gateway,chat\n")


def test_missing_command_expands_supervisord_environment_references(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n", encoding="utf-8")
    tool.chmod(0o755)
    env = {"DIR": str(tmp_path)}
    assert missing_command("%(ENV_DIR)s/tool -c x", env, _everything_installed) == ""
    assert "is not installed" in missing_command("%(ENV_DIR)s/absent -c x", env, _everything_installed)
    assert "not on PATH" in missing_command("nosuchtool --flag", env, lambda _: None)
