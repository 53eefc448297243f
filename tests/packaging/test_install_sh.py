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


# -- the glibc floor (issue #16): the binary needs the host's glibc at GLIBC_FLOOR or newer ----------------
def _glibc_floor() -> str:
    found = re.search(r"^readonly GLIBC_FLOOR=(\d+\.\d+)\b", SCRIPT.read_text(), re.MULTILINE)
    assert found, "install.sh has no GLIBC_FLOOR"
    return found.group(1)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@pytest.mark.parametrize("older", ["2.31", "2.34", "2.35", "2.4"], ids=["debian11", "rhel9", "ubuntu2204", "2.4"])
def test_refuses_a_glibc_older_than_the_floor(tmp_path: Path, older: str) -> None:
    floor = _glibc_floor()
    assert _version_key(older) < _version_key(floor)
    env = dict(os.environ, OPENIM_GLIBC_VERSION=older)
    result = _install("--prefix", str(tmp_path / "root"), "--binary", str(tmp_path / "absent"), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"has glibc {older}; the openim binary needs glibc {floor} or newer" in result.stderr, result.stderr
    assert 'run the container image instead (docs/operations.md, "Container")' in result.stderr, result.stderr
    assert not (tmp_path / "root" / "usr").exists(), "install.sh went on after refusing"


@pytest.mark.parametrize("version", ["machine", "floor", "2.39", "3.0"])
def test_accepts_this_machines_glibc_and_newer(tmp_path: Path, version: str) -> None:
    env = dict(os.environ)
    env.pop("OPENIM_GLIBC_VERSION", None)
    if version == "machine":  # detected by install.sh itself (getconf, else ldd)
        machine = os.confstr("CS_GNU_LIBC_VERSION") or ""
        assert machine.startswith("glibc "), machine
        if _version_key(machine.split()[1]) < _version_key(_glibc_floor()):
            pytest.skip(f"this machine's {machine} is below the floor: it cannot run the binary either")
    else:
        env["OPENIM_GLIBC_VERSION"] = _glibc_floor() if version == "floor" else version
    # --binary to a missing file: past the glibc check, install.sh stops there instead
    result = _install("--prefix", str(tmp_path / "root"), "--binary", str(tmp_path / "absent"), env=env)
    assert result.returncode == 1
    assert "no such file" in result.stderr and "glibc" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("getconf", "ldd"),
    [("echo glibc 2.31", "exit 1"), ("exit 1", "echo 'ldd (Ubuntu GLIBC 2.35-0ubuntu3.8) 2.35'")],
    ids=["getconf", "ldd"],
)
def test_detects_an_older_glibc_without_the_override(tmp_path: Path, getconf: str, ldd: str) -> None:
    """The detection itself (getconf GNU_LIBC_VERSION, else the first line of ldd --version), through stand-in
    commands on PATH that answer as Debian 11 and Ubuntu 22.04 do."""
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, body in (("getconf", getconf), ("ldd", ldd)):
        (fake / name).write_text(f"#!/bin/sh\n{body}\n")
        (fake / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "OPENIM_GLIBC_VERSION"}
    env["PATH"] = f"{fake}:{env['PATH']}"
    result = _install("--prefix", str(tmp_path / "root"), "--binary", str(tmp_path / "absent"), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    older = "2.31" if "2.31" in getconf else "2.35"
    assert f"has glibc {older}; the openim binary needs glibc {_glibc_floor()} or newer" in result.stderr, result.stderr


def test_docs_name_the_glibc_floor() -> None:
    floor = _glibc_floor()
    docs = (ROOT / "docs" / "operations.md").read_text()
    assert f"glibc {floor} or newer" in docs, "docs/operations.md does not name install.sh's glibc floor"


@pytest.mark.binary
def test_glibc_floor_is_what_the_binary_needs(binary: Path, tmp_path: Path) -> None:
    """The highest GLIBC_x.y symbol version asked for by the bootloader and every bundled shared library
    is install.sh's floor: a newer need would let install.sh accept a host the binary fails on; an older
    one would refuse hosts it runs on."""
    from PyInstaller.archive.readers import CArchiveReader

    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump not installed (Debian package binutils)")
    archive = CArchiveReader(str(binary))
    files = [binary]
    for name in archive.toc:
        if re.search(r"\.so(\.|$)", name):
            out = tmp_path / "libs" / name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.extract(name))
            files.append(out)
    assert len(files) > 10, f"no bundled libraries found in {binary}: {list(archive.toc)[:20]}"
    needs: dict[str, str] = {}
    for path in files:
        result = subprocess.run([objdump, "-T", str(path)], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        versions = re.findall(r"\bGLIBC_(\d+\.\d+(?:\.\d+)?)\b", result.stdout)
        if versions:
            needs[path.name] = max(versions, key=_version_key)
    highest = max(needs.values(), key=_version_key)
    floor = _glibc_floor()
    top = sorted(needs.items(), key=lambda kv: _version_key(kv[1]), reverse=True)[:5]
    assert _version_key(highest)[:2] == _version_key(floor), f"the binary needs glibc {highest}, not {floor}: {top}"


# -- --config (issue #16): data and logs where the installed config says, and --uninstall finds them -------
@pytest.mark.binary
@pytest.mark.parametrize("where", ["default", "outside"])
def test_install_with_config_follows_its_data_dir_and_uninstall_stops_it(
    binary: Path, tmp_path: Path, port_env: dict[str, str], where: str
) -> None:
    """A supplied config is installed unchanged; the summary, the server's files and --uninstall follow
    its data_dir and supervise.log_dir. ``default``: the relative ./data of a config from `openim init`
    with no log_dir (logs under data/logs); ``outside``: an absolute data_dir outside /data/openim."""
    root = tmp_path / "root"
    home = root / "data" / "openim"
    conf = home / "config.yaml"
    data = home / "data" if where == "default" else tmp_path / "elsewhere" / "store"
    logs = data / "logs"
    supplied = tmp_path / "cluster.yaml"
    supplied.write_text(
        f'secret: "{"s" * 40}"\ndata_dir: "{"./data" if where == "default" else data}"\n', encoding="utf-8"
    )
    common = ("--prefix", str(root), "--no-systemd", "--binary", str(binary))
    pidfile = data / "supervise" / "supervisord.pid"
    try:
        out = _ok(_install(*common, "--config", str(supplied), env=port_env))
        assert conf.read_bytes() == supplied.read_bytes(), "the supplied config was not installed unchanged"
        assert f"data, logs:               {data}, {logs}" in out, out
        assert (logs / "openim.log").is_file(), sorted(str(p) for p in tmp_path.rglob("*.log"))
        assert (logs / "supervise.out").is_file()
        assert not (home / "logs").exists(), "an empty logs/ the server never writes to"
        pid = int(pidfile.read_text().strip())
        assert _alive(pid)

        out = _ok(_install(*common, "--config", str(supplied), env=port_env))
        assert "nothing changed" in out, out  # found its own supervisord under the config's data_dir

        out = _ok(_install("--prefix", str(root), "--no-systemd", "--uninstall", env=port_env))
        assert f"stopping openim supervise (pid {pid})" in out, out
        assert not _alive(pid), f"--uninstall left the supervisord of {data} running"
        _ok(_install("--prefix", str(root), "--no-systemd", "--uninstall", "--purge", env=port_env))
        assert not home.exists()
        assert data.is_dir() == (where == "outside"), "a data dir outside the install is the operator's"
    finally:
        if pidfile.exists() and _alive(int(pidfile.read_text())):
            os.kill(int(pidfile.read_text()), 15)
