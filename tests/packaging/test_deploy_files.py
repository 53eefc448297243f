"""The deployment files, read: hadolint for the Dockerfile, `ansible-playbook --syntax-check` for the
playbook, and our own reading of what they promise: the image runs `openim supervise` as a non-root user
with a /healthz HEALTHCHECK, every openim container of the compose file has an environment our config loader
accepts and a mode `openim supervise` can run, the Beats' configs point where supervise puts things. The
image and the compose file are also built and run, by tests/container (marker ``container``); the playbook
needs a fleet of hosts."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from openim.config_load import load_config
from openim.deploy.supervise import make_plan, module_list

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


# -- Dockerfile --------------------------------------------------------------------------------------------
def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_passes_hadolint(lint_tools: Any) -> None:
    result = subprocess.run(
        [lint_tools.tool("hadolint"), "--no-color", str(PACKAGING / "Dockerfile")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_supervise_as_a_user_with_a_healthcheck() -> None:
    steps = _instructions((PACKAGING / "Dockerfile").read_text(encoding="utf-8"))
    words = [w for w, _ in steps]
    # the base is a build argument (tests/container builds on a debootstrap image); a deployment's default is
    # bookworm-slim, the glibc of the machine that builds the binary
    assert steps[0] == ("ARG", "BASE_IMAGE=debian:bookworm-slim") and steps[1] == ("FROM", "${BASE_IMAGE}")
    entry = dict(steps)["ENTRYPOINT"]
    assert entry == '["/usr/local/bin/openim", "supervise"]'
    assert dict(steps)["USER"] == "10001:10001"
    assert words.index("USER") > words.index("RUN")  # root only for the package installs
    (copy,) = [args for w, args in steps if w == "COPY"]
    assert copy.split()[-2:] == ["openim", "/usr/local/bin/openim"]  # the build context is dist/
    health = dict(steps)["HEALTHCHECK"]
    assert "CMD curl -fsS" in health and "${OPENIM_HEALTHCHECK_URL}" in health
    env = dict(steps)["ENV"]
    assert "OPENIM_HEALTHCHECK_URL=http://127.0.0.1:10002/healthz" in env
    assert "OPENIM_SUPERVISE__LOG_DIR=/data/openim/logs" in env
    assert "EXPOSE" in words and dict(steps)["STOPSIGNAL"] == "SIGTERM"


def test_image_environment_is_a_valid_config(tmp_path: Path) -> None:
    """The ENV of the image, as the binary inside reads it (no config file mounted)."""
    env_line = dict(_instructions((PACKAGING / "Dockerfile").read_text(encoding="utf-8")))["ENV"]
    env = dict(pair.split("=", 1) for pair in env_line.split())
    loaded = load_config(None, env={k: v for k, v in env.items() if k != "OPENIM_HEALTHCHECK_URL"})
    assert loaded.config.data_dir == "/data/openim/data"
    plan = make_plan(loaded, cwd=Path("/data/openim"), environ={})
    assert plan.log_dir == Path("/data/openim/logs") and plan.programs == ["openim"]


# -- compose file ------------------------------------------------------------------------------------------
def _compose_env(service: dict[str, Any]) -> dict[str, str]:
    filled = {}
    for key, value in service["environment"].items():
        # ${VAR:?message} must be set by the operator: stand in a value for the check
        filled[key] = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: f"test-{m.group(1).lower()}-0123456789", str(value))
    return filled


def test_compose_services_have_a_valid_cluster_config() -> None:
    compose = yaml.safe_load((PACKAGING / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "openim-edge", "openim-core"} <= services.keys()
    covered: set[str] = set()
    for name in ("openim-edge", "openim-core"):
        service = services[name]
        assert service["build"] == {
            "context": "../dist",
            "dockerfile": "../packaging/Dockerfile",
            "args": {"BASE_IMAGE": "${OPENIM_BASE_IMAGE:-debian:bookworm-slim}"},
        }
        assert (ROOT / "packaging" / "Dockerfile").is_file()
        assert set(service["depends_on"]) == {"postgres", "redis"}
        env = _compose_env(service)
        loaded = load_config(None, env={k: v for k, v in env.items() if k != "OPENIM_HEALTHCHECK_URL"})
        config = loaded.config
        assert config.is_cluster and config.storage.postgres_dsn.endswith("@postgres:5432/openim")
        assert config.secret != "openIM123"
        make_plan(loaded, cwd=Path("/data/openim"), environ={})  # a mode supervise runs (cluster: any subset)
        modules = module_list(config)
        covered |= set(modules)
        if "api" not in modules:  # the HEALTHCHECK must ask the ops listener
            assert env["OPENIM_HEALTHCHECK_URL"] == f"http://127.0.0.1:{config.ops.port}/healthz"
    assert covered == {"api", "gateway", "msg", "transfer", "push"}
    assert services["openim-edge"]["ports"] == [
        "${OPENIM_PUBLISH_ADDR:-0.0.0.0}:${OPENIM_WS_PORT:-10001}:10001",
        "${OPENIM_PUBLISH_ADDR:-0.0.0.0}:${OPENIM_API_PORT:-10002}:10002",
    ]


# -- ansible -----------------------------------------------------------------------------------------------
def test_ansible_playbook_syntax(lint_tools: Any) -> None:
    ansible = PACKAGING / "ansible"
    result = subprocess.run(
        [
            lint_tools.tool("ansible-playbook"),
            "--syntax-check",
            "-i",
            str(ansible / "inventory.example.ini"),
            str(ansible / "site.yml"),
        ],
        capture_output=True, text=True, timeout=120, check=False, cwd=ansible,
        env={"PATH": f"{lint_tools.bin_dir}:/usr/bin:/bin", "HOME": str(ansible), "ANSIBLE_LOCAL_TEMP": "/tmp",
             "ANSIBLE_NOCOLOR": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


ANSIBLE_TEMPLATE = PACKAGING / "ansible" / "roles" / "openim" / "templates" / "config.yaml.j2"


def test_ansible_config_template_renders_a_valid_config(tmp_path: Path, lint_tools: Any) -> None:
    """The template, rendered with Jinja2 (ansible's own) for an edge host, is a config openim accepts."""
    script = (
        "import jinja2, sys\n"
        "t = jinja2.Template(open(sys.argv[1]).read())\n"
        "print(t.render(inventory_hostname='im-edge-1', ansible_host='10.0.0.11', openim_secret='s' * 32,"
        " openim_postgres_dsn='postgresql://openim:pw@10.0.0.31:5432/openim', openim_postgres_pool_size=10,"
        " openim_redis_url='redis://10.0.0.32:6379/0', openim_redis_key_prefix='openim:',"
        " openim_modules='gateway,api', openim_processes=2))\n"
    )
    rendered = subprocess.run(
        [lint_tools.tool("python"), "-c", script, str(ANSIBLE_TEMPLATE)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    path = tmp_path / "config.yaml"
    path.write_text(rendered, encoding="utf-8")
    loaded = load_config(str(path), env={})
    assert loaded.config.is_cluster and loaded.config.node_id == "im-edge-1"
    assert module_list(loaded.config) == ("api", "gateway") and loaded.config.supervise.processes == 2
    assert loaded.config.cluster.advertise_host == "10.0.0.11"


# -- Beats -------------------------------------------------------------------------------------------------
def test_beats_configs_ship_to_elasticsearch_from_the_supervise_layout() -> None:
    filebeat = yaml.safe_load((PACKAGING / "filebeat.yml").read_text(encoding="utf-8"))
    (stream,) = filebeat["filebeat.inputs"]
    assert stream["type"] == "filestream"
    assert stream["paths"] == ["${OPENIM_SUPERVISE_LOGS:/data/openim/logs}/openim*.log"]
    # decoded under `openim`, never to the top level (tests/packaging/test_filebeat_fields.py: what ES gets)
    assert "parsers" not in stream
    (decode,) = [p["decode_json_fields"] for p in filebeat["processors"] if "decode_json_fields" in p]
    assert decode["fields"] == ["message"] and decode["target"] == "openim"
    metricbeat = yaml.safe_load((PACKAGING / "metricbeat.yml").read_text(encoding="utf-8"))
    modules = {m["module"]: m for m in metricbeat["metricbeat.modules"]}
    assert modules["prometheus"]["metrics_path"] == "/metrics"
    assert "process" in modules["system"]["metricsets"]
    for beat in (filebeat, metricbeat):
        assert beat["output.elasticsearch"]["hosts"] == ["${ELASTICSEARCH_HOSTS:http://127.0.0.1:9200}"]
