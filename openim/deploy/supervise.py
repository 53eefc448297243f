"""`openim supervise`: the supervisord bundled with openim, running the openim program(s) and the sidecars.

The program files are supervisor.d/*.conf (bundled in the binary, or ``supervise.programs_dir``). They are
ordinary supervisord sections whose paths are ``%(ENV_OPENIM_SUPERVISE_*)s`` expansions; this module turns
them and the config into one generated supervisord.conf under ``<data_dir>/supervise/``:

* the openim program runs ``openim serve --module <supervise.modules>``; with ``supervise.processes`` > 1 it
  becomes ``openim-0`` ... ``openim-N`` in a group ``openim``, process n on every port + n * port_step;
* every other program is a sidecar (Filebeat, Metricbeat): kept where its command is installed, otherwise
  left out with one log line -- an absent binary must not become a restart loop;
* filebeat.yml and metricbeat.yml are copied next to it (yours beside config.yaml win over the bundled
  packaging/ ones), the metrics endpoints of the openim processes written into metricbeat.yml;
* a unix socket for supervisorctl, which `openim supervise status|restart|stop` drive.

Then supervisord runs in this very process (it is PID 1's only child in the container). It is made a child
subreaper first, so a server process orphaned by a killed bootloader is still reaped here, not by PID 1.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import re
import resource
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openim.config import MODULES, Config
from openim.config_load import LoadedConfig
from openim.config_review import Finding, review_config, supervised_modules

ENV = "OPENIM_SUPERVISE_"
MAIN = "openim"
SIDECAR_CONFIGS = ("filebeat.yml", "metricbeat.yml")
METRICS_MARKER = "# openim-supervise: metrics hosts"
# sun_path holds 108 bytes on Linux; longer socket paths move to /tmp under a name derived from the run dir.
_SOCKET_PATH_MAX = 100
_WANTED_FDS = 1 << 20
_STOP_WAIT_S = 60.0


class SuperviseError(Exception):
    """A setting `openim supervise` cannot run with; ``str()`` is one line for the operator."""


@dataclass(frozen=True)
class Program:
    """One [program:x] section of supervisor.d, its settings in file order."""

    name: str
    source: Path
    settings: dict[str, str]


@dataclass
class Plan:
    """Everything `openim supervise` derives from the config before supervisord starts."""

    run_dir: Path
    log_dir: Path
    data_dir: Path
    socket: Path
    environ: dict[str, str]  # added to supervisord's own environment, inherited by every program
    programs: list[str] = field(default_factory=list)  # the process names supervisord will run
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (program, why)
    metrics_hosts: list[str] = field(default_factory=list)
    text: str = ""  # the generated supervisord.conf

    @property
    def conf_path(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "supervisord.pid"


# -- where things are ------------------------------------------------------------------------------------
def bundled(*parts: str) -> Path:
    """A file shipped with openim: inside the one-file binary's archive, else in the source checkout."""
    base = getattr(sys, "_MEIPASS", None)
    root = Path(base) if getattr(sys, "frozen", False) and base else Path(__file__).resolve().parents[2]
    return root.joinpath(*parts)


def openim_command() -> str:
    """How a program line starts openim: the binary itself, or this interpreter with ``-m openim``."""
    if getattr(sys, "frozen", False):
        return shlex.quote(sys.executable)
    return f"{shlex.quote(sys.executable)} -m openim"


def _absolute(path: str | Path, cwd: Path) -> Path:
    return Path(os.path.normpath(cwd / Path(path).expanduser()))


def run_dir_of(config: Config, cwd: Path) -> Path:
    return _absolute(config.data_dir, cwd) / "supervise"


def socket_path(run_dir: Path) -> Path:
    candidate = run_dir / "supervisor.sock"
    if len(str(candidate)) <= _SOCKET_PATH_MAX:
        return candidate
    import hashlib

    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:16]
    return Path("/tmp") / f"openim-supervise-{digest}.sock"


def module_list(config: Config) -> tuple[str, ...]:
    return supervised_modules(config)


def check_mode(loaded: LoadedConfig) -> None:
    """Refuse what the config review refuses (openim.config.review_config): among others, anything but one
    process of every module in the embedded mode (SQLite + in-process bus)."""
    refusals = review_config(loaded).refusals
    if refusals:
        raise SuperviseError(f"{refusals[0].key}: {refusals[0].reason}")


# -- reading supervisor.d --------------------------------------------------------------------------------
def read_programs(directory: Path) -> list[Program]:
    """Every [program:x] of directory/*.conf, the openim one first."""
    if not directory.is_dir():
        raise SuperviseError(f"supervise.programs_dir: {directory} is not a directory")
    programs: list[Program] = []
    for path in sorted(directory.glob("*.conf")):
        parser = configparser.RawConfigParser(
            comment_prefixes=(";", "#"), inline_comment_prefixes=None, strict=True, delimiters=("=",)
        )
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as exc:
            raise SuperviseError(f"{path}: {exc}".replace("\n", " ")) from exc
        for section in parser.sections():
            if not section.startswith("program:"):
                raise SuperviseError(f"{path}: [{section}]: only [program:x] sections belong in supervisor.d")
            programs.append(Program(section.removeprefix("program:"), path, dict(parser.items(section))))
    if not any(p.name == MAIN for p in programs):
        raise SuperviseError(f"supervise.programs_dir: {directory} has no [program:{MAIN}]")
    programs.sort(key=lambda p: p.name != MAIN)
    return programs


_ENV_REF = re.compile(r"%\(ENV_([A-Za-z0-9_]+)\)s")


def expand_env(value: str, environ: Mapping[str, str]) -> str:
    """supervisord's ``%(ENV_X)s`` expansion, for deciding before supervisord does (unknown names stay)."""
    return _ENV_REF.sub(lambda m: environ.get(m.group(1), m.group(0)), value)


def missing_command(command: str, environ: Mapping[str, str], which: Callable[[str], str | None]) -> str:
    """Why ``command`` cannot start here ('' when its executable is installed)."""
    try:
        argv = shlex.split(expand_env(command, environ))
    except ValueError as exc:
        return f"cannot parse command: {exc}"
    if not argv:
        return "empty command"
    exe = argv[0]
    if "/" in exe:
        return "" if os.path.isfile(exe) and os.access(exe, os.X_OK) else f"{exe} is not installed"
    return "" if which(exe) else f"{exe} is not on PATH"


# -- the plan --------------------------------------------------------------------------------------------
def _local_host(bind: str) -> str:
    return "127.0.0.1" if bind in ("", "0.0.0.0", "::") else bind


def _ports(config: Config, n: int) -> dict[str, str]:
    step = n * config.supervise.port_step
    return {
        "OPENIM_API__PORT": str(config.api.port + step),
        "OPENIM_GATEWAY__PORT": str(config.gateway.port + step),
        "OPENIM_OPS__PORT": str(config.ops.port + step),
    }


def _section(name: str, settings: Mapping[str, str]) -> str:
    lines = [f"[{name}]"]
    for key, value in settings.items():
        lines.append(f"{key}={value}".replace("\n", " "))
    return "\n".join(lines) + "\n"


def _with_environment(settings: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    out = dict(settings)
    pairs = ",".join(f'{k}="{v}"' for k, v in extra.items())
    if pairs:
        out["environment"] = f"{out['environment']},{pairs}" if out.get("environment") else pairs
    return out


def _min_fds() -> int:
    """As many descriptors as the hard limit allows (a gateway holds one per connection), at most 2**20."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return _WANTED_FDS if hard == resource.RLIM_INFINITY else max(1024, min(hard, _WANTED_FDS))


def make_plan(
    loaded: LoadedConfig,
    *,
    cwd: Path | None = None,
    which: Callable[[str], str | None] = shutil.which,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """Decide what supervisord will run; nothing is written. Raises SuperviseError on a config it cannot run."""
    config = loaded.config
    check_mode(loaded)
    cwd = cwd or Path.cwd()
    environ = os.environ if environ is None else environ
    data_dir = _absolute(config.data_dir, cwd)
    run_dir = data_dir / "supervise"
    log_dir = _absolute(config.supervise.log_dir, cwd) if config.supervise.log_dir else data_dir / "logs"
    plan = Plan(run_dir=run_dir, log_dir=log_dir, data_dir=data_dir, socket=socket_path(run_dir), environ={})
    modules = module_list(config)
    plan.environ = {
        ENV + "BIN": openim_command(),
        ENV + "MODULES": "all" if modules == MODULES else ",".join(modules),
        ENV + "WORKDIR": str(cwd),
        ENV + "DATA": str(data_dir),
        ENV + "LOGS": str(log_dir),
        ENV + "RUN": str(run_dir),
    }
    if loaded.source != "built-in defaults":
        # Every program finds the same file through the lookup's second step, $OPENIM_CONFIG.
        plan.environ["OPENIM_CONFIG"] = str(_absolute(loaded.source, cwd))
    expansions = {**environ, **plan.environ}

    programs_dir = _absolute(config.supervise.programs_dir, cwd) if config.supervise.programs_dir else None
    sections: list[str] = []
    for program in read_programs(programs_dir or bundled("supervisor.d")):
        if program.name != MAIN:
            why = missing_command(program.settings.get("command", ""), expansions, which)
            if why:
                plan.skipped.append((program.name, why))
                continue
            sections.append(_section(f"program:{program.name}", program.settings))
            plan.programs.append(program.name)
            continue
        count = config.supervise.processes
        metrics_port = "api" if "api" in modules else "ops"
        for n in range(count):
            extra = _ports(config, n) if count > 1 else {}
            if count > 1 and config.node_id:
                extra["OPENIM_NODE_ID"] = f"{config.node_id}-{n}"
            name = MAIN if count == 1 else f"{MAIN}-{n}"
            sections.append(_section(f"program:{name}", _with_environment(program.settings, extra)))
            plan.programs.append(name)
            bind = config.api.host if metrics_port == "api" else config.ops.host
            base = config.api.port if metrics_port == "api" else config.ops.port
            plan.metrics_hosts.append(f"{_local_host(bind)}:{base + n * config.supervise.port_step}")
        if count > 1:
            sections.append(_section(f"group:{MAIN}", {"programs": ",".join(f"{MAIN}-{n}" for n in range(count))}))

    head = [
        "; Generated by `openim supervise` from the config and supervisor.d; rewritten at every start.",
        _section(
            "supervisord",
            {
                "nodaemon": "true",
                "logfile": str(log_dir / "supervisord.log"),
                "logfile_maxbytes": "20MB",
                "logfile_backups": "3",
                "pidfile": str(plan.pidfile),
                "childlogdir": str(log_dir),
                "identifier": "openim-supervise",
                "minfds": str(_min_fds()),
            },
        ),
        _section("unix_http_server", {"file": str(plan.socket), "chmod": "0700"}),
        _section(
            "rpcinterface:supervisor",
            {"supervisor.rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface"},
        ),
        _section("supervisorctl", {"serverurl": f"unix://{plan.socket}"}),
    ]
    plan.text = "\n".join([*head, *sections])
    return plan


def _sidecar_config(name: str, loaded: LoadedConfig, cwd: Path) -> Path:
    if loaded.source != "built-in defaults":
        beside = _absolute(loaded.source, cwd).parent / name
        if beside.is_file():
            return beside
    return bundled("packaging", name)


def metrics_hosts_into(text: str, hosts: Sequence[str]) -> str:
    """metricbeat.yml with the line marked METRICS_MARKER listing ``hosts``."""
    listed = ", ".join(f'"{h}"' for h in hosts)
    return re.sub(
        rf"^(\s*)hosts: .*{re.escape(METRICS_MARKER)}$",
        lambda m: f"{m.group(1)}hosts: [{listed}]  {METRICS_MARKER}",
        text,
        flags=re.MULTILINE,
    )


def write_plan(plan: Plan, loaded: LoadedConfig, cwd: Path | None = None) -> None:
    """Create the directories, the generated supervisord.conf and the sidecars' configs."""
    cwd = cwd or Path.cwd()
    for directory in (plan.data_dir, plan.log_dir, plan.run_dir):
        directory.mkdir(parents=True, exist_ok=True)
    for name in SIDECAR_CONFIGS:
        source = _sidecar_config(name, loaded, cwd)
        if not source.is_file():
            continue
        text = source.read_text(encoding="utf-8")
        if name == "metricbeat.yml":
            text = metrics_hosts_into(text, plan.metrics_hosts)
        target = plan.run_dir / name
        target.write_text(text, encoding="utf-8")
        target.chmod(0o600)  # Beats refuse configs that others can write
    tmp = plan.conf_path.with_suffix(".tmp")
    tmp.write_text(plan.text, encoding="utf-8")
    tmp.replace(plan.conf_path)


# -- running ---------------------------------------------------------------------------------------------
def _become_subreaper() -> None:
    """Orphans of our programs (a server whose bootloader was killed) are reparented to us, not to PID 1."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_child_subreaper = 36
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _child_environment() -> None:
    """Leave the one-file bootloader's private settings out of what the programs inherit: each openim program
    is an independent instance of the binary, and the Beats must not load our bundled libraries."""
    if not getattr(sys, "frozen", False):
        return
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)
    for name in list(os.environ):
        if name.startswith(("_PYI_", "_MEIPASS")):
            del os.environ[name]
    os.environ["PYINSTALLER_RESET_ENVIRONMENT"] = "1"


def run(loaded: LoadedConfig, warnings: Sequence[Finding] = ()) -> int:
    """Entry point of `openim supervise`: returns supervisord's exit code (0 after a clean shutdown).
    ``warnings``: the config review's, logged here too (the server processes log them in openim.log)."""
    from openim.ops.logging import get_log, setup_logging

    setup_logging(loaded.config.log.level, loaded.config.log.format, float(loaded.config.log.repeat_window))
    log = get_log("supervise")
    for warning in warnings:
        log.warning(f"config.warning.{warning.key}", warning=str(warning))
    cwd = Path.cwd()
    plan = make_plan(loaded, cwd=cwd)
    for name, why in plan.skipped:
        log.info("sidecar.skipped", program=name, reason=why)
    write_plan(plan, loaded, cwd)
    log.info("starting", programs=plan.programs, conf=str(plan.conf_path), logs=str(plan.log_dir))
    os.environ.update(plan.environ)
    _child_environment()
    _become_subreaper()
    from supervisor import supervisord

    try:
        supervisord.main(args=["-c", str(plan.conf_path)])
    except SystemExit as exc:  # supervisord exits through usage() on a bad config
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def control(loaded: LoadedConfig, command: Sequence[str]) -> int:
    """Run one supervisorctl command against the supervisord of this config; returns its exit code."""
    cwd = Path.cwd()
    conf = run_dir_of(loaded.config, cwd) / "supervisord.conf"
    if not conf.is_file():
        print(f"openim supervise is not running for this config (no {conf})", file=sys.stderr)
        return 1 if command[:1] != ["shutdown"] else 0
    pid = _read_pid(conf.parent / "supervisord.pid")
    if command[:1] == ["shutdown"] and (pid is None or not _alive(pid)):
        print("openim supervise is not running for this config", file=sys.stderr)
        return 0
    from supervisor import supervisorctl

    try:
        supervisorctl.main(args=["-c", str(conf), *command])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    if command[:1] == ["shutdown"] and pid is not None:
        # Return once supervisord is gone, so `stop` followed by a start (install.sh --upgrade) is safe.
        deadline = time.monotonic() + _STOP_WAIT_S
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            print(f"supervisord (pid {pid}) still runs {_STOP_WAIT_S:g}s after shutdown", file=sys.stderr)
            return 1
        return 0
    return code


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie (exited, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:  # no procfs (or the process just went): kill(0) is all we know
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]
