"""supervisor.d/*.conf are valid supervisord program sections with the settings openim relies on, read by
supervisord's own parser (the bundled `supervisor` package), and scripts/install.sh is an honest stub."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from supervisor.datatypes import RestartUnconditionally

from openim.config import Config

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ("openim", "filebeat", "metricbeat")


@pytest.fixture
def programs(tmp_path: Path) -> dict[str, Any]:
    """The program configs as supervisord parses them, with /data/openim moved under tmp_path."""
    from supervisor.options import ServerOptions

    base = tmp_path / "data" / "openim"
    (base / "logs").mkdir(parents=True)
    included = tmp_path / "supervisor.d"
    included.mkdir()
    for name in PROGRAMS:
        text = (ROOT / "supervisor.d" / f"{name}.conf").read_text(encoding="utf-8")
        (included / f"{name}.conf").write_text(text.replace("/data/openim", str(base)), encoding="utf-8")
    main = tmp_path / "supervisord.conf"
    main.write_text(
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\npidfile={tmp_path}/supervisord.pid\n"
        f"[include]\nfiles={included}/*.conf\n",
        encoding="utf-8",
    )
    options = ServerOptions()
    options.realize(args=["-c", str(main)])
    return {group.name: group.process_configs[0] for group in options.process_group_configs}


def test_every_program_is_defined(programs: dict[str, Any]) -> None:
    assert set(programs) == set(PROGRAMS)


def test_openim_program_runs_serve_and_stops_gracefully(programs: dict[str, Any], tmp_path: Path) -> None:
    import signal

    openim = programs["openim"]
    assert openim.command == f"openim serve -c {tmp_path}/data/openim/config.yaml"
    assert openim.autorestart is RestartUnconditionally
    assert openim.stopsignal == signal.SIGTERM
    # supervisord must give the server its whole shutdown timeout before SIGKILL
    assert openim.stopwaitsecs > Config().shutdown_timeout
    assert openim.stopasgroup is False and openim.killasgroup is True
    logs = tmp_path / "data" / "openim" / "logs"
    assert Path(openim.stdout_logfile).parent == logs
    assert Path(openim.stderr_logfile).parent == logs


@pytest.mark.parametrize("name", ["filebeat", "metricbeat"])
def test_beats_use_their_configs_from_packaging(programs: dict[str, Any], name: str, tmp_path: Path) -> None:
    beat = programs[name]
    command = beat.command
    assert command.split()[0] == f"/usr/share/{name}/bin/{name}"
    assert f"-c {tmp_path}/data/openim/{name}.yml" in command
    assert (ROOT / "packaging" / f"{name}.yml").is_file()
    assert beat.autorestart is RestartUnconditionally


@pytest.mark.parametrize("name", ["filebeat", "metricbeat"])
def test_beat_configs_are_yaml(name: str) -> None:
    import yaml

    data = yaml.safe_load((ROOT / "packaging" / f"{name}.yml").read_text(encoding="utf-8"))
    assert "output.elasticsearch" in data


def test_install_sh_is_a_stub_that_says_so_and_fails() -> None:
    script = ROOT / "scripts" / "install.sh"
    second_line = script.read_text(encoding="utf-8").splitlines()[1]
    assert second_line.startswith("# install.sh will install") and "NOT IMPLEMENTED YET" in second_line
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0
    assert "not implemented yet" in result.stderr
