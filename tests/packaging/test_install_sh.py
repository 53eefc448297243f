"""scripts/install.sh with the session's binary, on this machine, never touching the real system: every run
uses --prefix (a temporary root); the server runs under `openim supervise` (--no-systemd) on free ports given
as OPENIM_* environment overrides. The systemd units it writes are checked with `systemd-analyze verify`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install.sh"


def _install(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def port_env(procs: Any) -> dict[str, str]:
    free_port = procs.free_port
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
    env.update(
        OPENIM_API__HOST="127.0.0.1",
        OPENIM_API__PORT=str(free_port()),
        OPENIM_GATEWAY__HOST="127.0.0.1",
        OPENIM_GATEWAY__PORT=str(free_port()),
        OPENIM_OPS__HOST="127.0.0.1",
        OPENIM_OPS__PORT=str(free_port()),
        OPENIM_SHUTDOWN_TIMEOUT="5s",
    )
    return env


def _supervisord_pid(home: Path) -> int:
    return int((home / "data" / "supervise" / "supervisord.pid").read_text().strip())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.binary
def test_install_upgrade_uninstall_without_systemd(
    binary: Path, tmp_path: Path, port_env: dict[str, str], procs: Any
) -> None:
    root = tmp_path / "root"
    home = root / "data" / "openim"
    conf = home / "config.yaml"
    api = f"http://127.0.0.1:{port_env['OPENIM_API__PORT']}"
    common = ("--prefix", str(root), "--no-systemd", "--binary", str(binary))
    try:
        # install: binary, layout, a config with a fresh secret, the server started and healthy
        out = _ok(_install(*common, env=port_env))
        assert f"REST API (apps, admin):   {api}" in out, out
        assert (root / "usr" / "local" / "bin" / "openim").read_bytes() == binary.read_bytes()
        for sub in ("data", "logs"):
            assert (home / sub).is_dir()
        assert conf.stat().st_mode & 0o777 == 0o600
        secret = re.search(r'^secret: "(.+)"$', conf.read_text(), re.MULTILINE)
        assert secret and secret.group(1) != "openIM123" and len(secret.group(1)) >= 32
        assert f'log_dir: "{home}/logs"' in conf.read_text()
        assert procs.get(api + "/healthz")[0] == 200
        assert (home / "logs" / "openim.log").is_file()
        pid = _supervisord_pid(home)

        # again: nothing changes, nothing restarts, the secret stays
        out = _ok(_install(*common, env=port_env))
        assert "nothing changed" in out, out
        assert _supervisord_pid(home) == pid
        assert secret.group(0) in conf.read_text()

        # a user, so the upgrade can be seen to keep the data
        token = _admin_token(api, secret.group(1))
        _call(api, "/user/user_register", {"users": [{"userID": "keep1", "nickname": "Keep"}]}, token)

        # --upgrade: backup of the embedded store, restart on the kept config and data
        out = _ok(_install(*common, "--upgrade", env=port_env))
        assert "backup: " in out and "upgraded" in out, out
        (backup,) = (home / "data" / "backups").glob("openim-*.db")
        assert backup.stat().st_size > 0
        assert not _alive(pid), "the old supervisord is still running after the upgrade"
        assert _supervisord_pid(home) != pid
        assert secret.group(0) in conf.read_text()
        token = _admin_token(api, secret.group(1))
        users = _call(api, "/user/get_users_info", {"userIDs": ["keep1"]}, token)
        assert [u["userID"] for u in users["usersInfo"]] == ["keep1"]

        # --uninstall: stopped, binary gone, data kept; --purge: all gone
        pid = _supervisord_pid(home)
        out = _ok(_install("--prefix", str(root), "--no-systemd", "--uninstall", env=port_env))
        assert not _alive(pid)
        assert not (root / "usr" / "local" / "bin" / "openim").exists()
        assert conf.is_file() and (home / "data" / "openim.db").is_file()
        _ok(_install("--prefix", str(root), "--no-systemd", "--uninstall", env=port_env))  # idempotent
        _ok(_install("--prefix", str(root), "--no-systemd", "--uninstall", "--purge", env=port_env))
        assert not home.exists()
    finally:
        pidfile = home / "data" / "supervise" / "supervisord.pid"
        if pidfile.exists() and _alive(int(pidfile.read_text())):
            subprocess.run([str(binary), "supervise", "stop", "-c", str(conf)], env=port_env, timeout=90, check=False)


def _admin_token(api: str, secret: str) -> str:
    import json
    import urllib.request

    req = urllib.request.Request(
        api + "/auth/get_admin_token",
        data=json.dumps({"secret": secret, "userID": "imAdmin"}).encode(),
        headers={"operationID": "t-install", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = json.load(resp)
    assert body["errCode"] == 0, body
    return str(body["data"]["token"])


def _call(api: str, path: str, payload: Any, token: str) -> Any:
    import json
    import urllib.request

    req = urllib.request.Request(
        api + path,
        data=json.dumps(payload).encode(),
        headers={"operationID": "t-install", "token": token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = json.load(resp)
    assert body["errCode"] == 0, body
    return body.get("data")


@pytest.mark.binary
def test_systemd_units_pass_systemd_analyze_verify(binary: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    out = _ok(_install("--prefix", str(root), "--binary", str(binary)))
    assert "not enabled under --prefix" in out, out
    units = root / "etc" / "systemd" / "system"
    service, template = units / "openim.service", units / "openim@.service"
    bin_path = root / "usr" / "local" / "bin" / "openim"
    conf = root / "data" / "openim" / "config.yaml"

    text = service.read_text()
    assert f"ExecStartPre={bin_path} config check -c {conf}" in text
    assert f"ExecStart={bin_path} supervise -c {conf}" in text
    for line in ("Restart=on-failure", "LimitNOFILE=1048576", "User=openim", "KillMode=mixed"):
        assert line in text.splitlines(), line
    assert "--module ${OPENIM_INSTANCE_MODULES}" in template.read_text()

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd); the unit text was checked above")
    instance = tmp_path / "openim@gateway.service"  # a template is verified through one of its instances
    instance.write_text(template.read_text())
    for unit in (service, instance):
        result = subprocess.run(
            [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
        )
        # verify exits 0 on unknown keys and bad values too, and only says so: any word from it is a failure
        assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
            f"{unit.name}:\n{result.stdout}{result.stderr}"
        )


def test_refuses_without_root() -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv is None:
        pytest.skip("running as root without setpriv (util-linux) to drop privileges")
    # as nobody (the script on stdin, so no directory of ours needs to be readable by it)
    drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 and setpriv else []
    result = subprocess.run(
        [*drop, "bash", "-s", "--", "--no-systemd"],
        input=SCRIPT.read_text(), capture_output=True, text=True, timeout=60, check=False, cwd="/",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "must run as root" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("release", "supported"),
    [
        ('ID=alpine\nPRETTY_NAME="Alpine Linux v3.20"\n', False),
        ("ID=arch\n", False),
        ('ID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 24.04 LTS"\n', True),
        ('ID="rocky"\nID_LIKE="rhel centos fedora"\nPRETTY_NAME="Rocky Linux 9.4"\n', True),
    ],
    ids=["alpine", "arch", "ubuntu", "rocky"],
)
def test_refuses_an_unsupported_os(tmp_path: Path, release: str, supported: bool) -> None:
    os_release = tmp_path / "os-release"
    os_release.write_text(release)
    env = dict(os.environ, OPENIM_OS_RELEASE=str(os_release))
    # --binary to a missing file: a supported OS gets past the OS check and stops there instead
    result = _install("--prefix", str(tmp_path / "root"), "--binary", str(tmp_path / "absent"), env=env)
    assert result.returncode == 1
    if supported:
        assert "no such file" in result.stderr, result.stderr
    else:
        assert "unsupported OS" in result.stderr, result.stderr


def test_install_sh_is_clean_for_bash_and_shellcheck(lint_tools: Any) -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=30)
    result = subprocess.run(
        [lint_tools.tool("shellcheck"), str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
