"""What Elasticsearch receives from packaging/filebeat.yml, without an Elasticsearch.

Filebeat's index template (ECS) maps `event`, `host`, `error`, `log`, `service`, ... as objects: a document
that carries a string there is rejected whole ("object mapping for [event] tried to parse field [event] as
object, but found a concrete value"). Our log lines carry `event` (the event name) and, at many call sites,
fields named `error`, `host`, `client` or `trace`. So this test

1. runs the real logging setup (openim.ops.logging, JSON format) in a subprocess and captures its lines: an
   info, an error with a traceback, and lines with every field name any `log.<level>("...", name=...)` call
   in openim/ passes (collected from the source, so a new call site is covered without editing this file);
2. pushes each line through a model of what Filebeat does with it: the filestream input's event
   (`message`, `log.file.path`, `log.offset`, `input.type`, the input's `fields`), the pipeline's own fields
   (`agent`, `ecs`, `host.name`) and then every processor of the file, in order;
3. checks the resulting documents: no top-level key the ECS template maps as an object holds a scalar, no
   top-level key outside ECS and `openim`, and every field under an ECS object is an ECS field of its type.

The model covers exactly the parts filebeat.yml uses (an `ndjson` parser, decode_json_fields, timestamp
with the one layout our `ts` has, rename, drop_fields, add_host_metadata), after their Go sources
(libbeat/processors/actions/*.go, libbeat/processors/timestamp, libbeat/common/jsontransform); a processor
or option it does not model fails the test instead of passing unchecked.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
LOG_PATH = "/data/openim/logs/openim.log"

# Top-level field sets of ECS (8.x) that Filebeat's template maps as objects, plus Filebeat's own `input`.
ECS_OBJECTS = frozenset(
    {
        "agent", "as", "client", "cloud", "container", "data_stream", "destination", "device", "dll", "dns",
        "ecs", "email", "error", "event", "faas", "file", "group", "host", "http", "input", "log", "network",
        "observer", "orchestrator", "organization", "package", "process", "registry", "related", "rule",
        "server", "service", "source", "span", "threat", "tls", "trace", "transaction", "url", "user",
        "user_agent", "vulnerability", "labels",
    }
)
# Top-level keys that are not objects in the template, and our own namespace (dynamically mapped).
TOP_LEVEL_SCALARS = frozenset({"@timestamp", "message", "tags"})
OWN_NAMESPACE = "openim"

# Every field under an ECS object that a document of ours may carry, with the type the template gives it.
# (Filebeat's own: input, log.file, log.offset, agent, ecs, host from add_host_metadata, service.name from
# the input's fields; ours: log.level, log.logger, event.action, error.stack_trace; decode_json_fields'
# error for a line that is not JSON: error.message, error.data, error.field.)
KEYWORD, LONG, BOOLEAN, KEYWORDS = "keyword", "long", "boolean", "keyword[]"
ECS_LEAVES: dict[str, str] = {
    "input.type": KEYWORD,
    "log.file.path": KEYWORD, "log.file.device_id": KEYWORD, "log.file.inode": KEYWORD, "log.offset": LONG,
    "log.level": KEYWORD, "log.logger": KEYWORD,
    "event.action": KEYWORD,
    "error.message": KEYWORD, "error.stack_trace": KEYWORD, "error.type": KEYWORD,
    "error.data": KEYWORD, "error.field": KEYWORD,
    "agent.type": KEYWORD, "agent.version": KEYWORD, "agent.name": KEYWORD, "agent.id": KEYWORD,
    "agent.ephemeral_id": KEYWORD,
    "ecs.version": KEYWORD,
    "service.name": KEYWORD,
    "host.name": KEYWORD, "host.hostname": KEYWORD, "host.id": KEYWORD, "host.architecture": KEYWORD,
    "host.containerized": BOOLEAN, "host.ip": KEYWORDS, "host.mac": KEYWORDS,
    "host.os.name": KEYWORD, "host.os.family": KEYWORD, "host.os.platform": KEYWORD,
    "host.os.version": KEYWORD, "host.os.kernel": KEYWORD, "host.os.type": KEYWORD, "host.os.codename": KEYWORD,
}


# -- the log lines ------------------------------------------------------------------------------------------
def _call_site_field_names() -> set[str]:
    """Keyword names passed to log.debug/info/warning/error("event", ...) anywhere in openim/."""
    names: set[str] = set()
    for path in (ROOT / "openim").rglob("*.py"):
        if "wire/pb" in path.as_posix():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"debug", "info", "warning", "error"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names |= {kw.arg for kw in node.keywords if kw.arg} - {"exc_info", "extra", "stack_info", "stacklevel"}
    return names


def _real_log_lines(field_names: set[str]) -> list[str]:
    """Lines written by openim's own logging setup (JSON), captured from a subprocess's stderr."""
    script = textwrap.dedent(
        """
        import json, sys
        from openim.ops.logging import get_log, setup_logging
        setup_logging("debug", "json", repeat_window=0)
        names = json.loads(sys.argv[1])
        log = get_log("gateway")
        log.info("conn.closed", user_id="u1", reason="idle", count=3)
        log.info("gateway.listening", host="0.0.0.0", port=10001)
        log.info("console.login", user_id="admin", client="10.0.0.7")
        try:
            raise OSError(24, "Too many open files")
        except OSError as exc:
            get_log("storage").error("db.failed", exc_info=True, error=str(exc), host="10.0.0.31")
        get_log("runtime").debug("module.crashed.traceback", trace="Traceback (most recent call last): ...")
        get_log("bus").warning("every.field", **{name: "v" for name in names})
        get_log("bus").warning("every.field.nested", **{name: {"a": 1} for name in names})
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(sorted(field_names))],
        capture_output=True, text=True, timeout=60, check=True, cwd=ROOT,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 7, result.stderr
    return lines


# -- the model of Filebeat ----------------------------------------------------------------------------------
class NotModelled(Exception):
    pass


def _walk(event: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, str]:
    """The map holding the last segment of a dotted path (None where an intermediate is missing or a scalar)."""
    *parents, last = path.split(".")
    node: Any = event
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None, last
    return (node if isinstance(node, dict) else None), last


def _has(event: dict[str, Any], path: str) -> bool:
    node, key = _walk(event, path)
    return node is not None and key in node


def _get(event: dict[str, Any], path: str) -> Any:
    node, key = _walk(event, path)
    if node is None or key not in node:
        raise KeyError(path)
    return node[key]


def _put(event: dict[str, Any], path: str, value: Any) -> None:
    """MapStr.Put: creates the intermediate maps; fails where an intermediate is a scalar."""
    *parents, last = path.split(".")
    node = event
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ValueError(f"expected map but type is {type(child).__name__} at {key!r} of {path!r}")
        node = child
    node[last] = value


def _delete(event: dict[str, Any], path: str) -> None:
    node, key = _walk(event, path)
    if node is None or key not in node:
        raise KeyError(path)
    del node[key]


def _deep_update(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _deep_update(dst[key], value)
        else:
            dst[key] = copy.deepcopy(value)


def _expand(fields: dict[str, Any]) -> dict[str, Any]:
    """go-ucfg reads dotted keys of the config as paths: {"service.name": x} is {"service": {"name": x}}."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        _put(out, key, _expand(value) if isinstance(value, dict) else value)
    return out


def _options(name: str, config: dict[str, Any] | None, allowed: set[str]) -> dict[str, Any]:
    config = config or {}
    unknown = set(config) - allowed
    if unknown:
        raise NotModelled(f"{name}: options {sorted(unknown)} are not modelled by this test")
    return config


def _decode_json(text: str) -> Any:
    return json.loads(text)  # one JSON value; Go's decoder also refuses trailing data


def _write_json_keys(event: dict[str, Any], keys: dict[str, Any], overwrite: bool) -> None:
    """jsontransform.WriteJSONKeys without expand_keys: top-level keys of the object into the event's root."""
    for key, value in keys.items():
        if key in {"@timestamp", "@metadata", "type"}:
            raise NotModelled(f"a JSON key {key!r} at the root is special-cased by Filebeat")
        if not overwrite and key in event:
            continue
        event[key] = value


def _ndjson(event: dict[str, Any], config: dict[str, Any]) -> None:
    config = _options(
        "ndjson", config, {"target", "overwrite_keys", "add_error_key", "message_key", "expand_keys"}
    )
    if config.get("expand_keys"):
        raise NotModelled("ndjson: expand_keys")
    try:
        decoded = _decode_json(event["message"])
    except ValueError as exc:
        if config.get("add_error_key"):
            event["error"] = {"message": f"Error decoding JSON: {exc}", "type": "json"}
        return
    target = config.get("target", "json")
    if target == "":
        _write_json_keys(event, decoded, bool(config.get("overwrite_keys")))
    else:
        _put(event, target, decoded)


def _decode_json_fields(event: dict[str, Any], config: dict[str, Any]) -> None:
    config = _options(
        "decode_json_fields", config, {"fields", "max_depth", "target", "overwrite_keys", "add_error_key"}
    )
    if config.get("max_depth", 1) != 1:
        raise NotModelled("decode_json_fields: max_depth other than 1 (decodes JSON strings inside values)")
    for field in config["fields"]:
        try:
            text = _get(event, field)
        except KeyError:
            continue
        if not isinstance(text, str):
            continue
        try:
            output = _decode_json(text)
        except ValueError as exc:
            if config.get("add_error_key"):
                event["error"] = {"message": f"parsing input as JSON: {exc}", "data": text, "field": field}
            continue
        target = config.get("target", field)
        if target is None:
            target = field
        if target != "":
            _put(event, target, output)
        elif isinstance(output, dict):
            _write_json_keys(event, output, bool(config.get("overwrite_keys")))


GO_LAYOUTS = {"2006-01-02T15:04:05.000Z": "%Y-%m-%dT%H:%M:%S.%fZ"}


def _parse_go_layout(layout: str, value: str) -> datetime:
    if layout not in GO_LAYOUTS:
        raise NotModelled(f"timestamp: layout {layout!r}")
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value):
        raise ValueError(value)
    return datetime.strptime(value, GO_LAYOUTS[layout]).replace(tzinfo=UTC)


def _timestamp(event: dict[str, Any], config: dict[str, Any]) -> None:
    config = _options(
        "timestamp", config, {"field", "layouts", "test", "ignore_missing", "ignore_failure", "target_field"}
    )
    for sample in config.get("test", []):  # Filebeat refuses to start when a test value does not parse
        assert any(_parse_go_layout(layout, sample) for layout in config["layouts"])
    try:
        value = _get(event, config["field"])
    except KeyError:
        if config.get("ignore_missing"):
            return
        raise
    for layout in config["layouts"]:
        try:
            parsed = _parse_go_layout(layout, str(value))
        except ValueError:
            continue
        _put(event, config.get("target_field", "@timestamp"), parsed)
        return
    if not config.get("ignore_failure"):
        raise ValueError(f"timestamp: {value!r} matches no layout")


def _rename(event: dict[str, Any], config: dict[str, Any]) -> None:
    config = _options("rename", config, {"fields", "ignore_missing", "fail_on_error"})
    backup = copy.deepcopy(event)
    for pair in config["fields"]:
        try:
            if _has(event, pair["to"]):
                raise ValueError(f"target field {pair['to']} already exists")
            try:
                value = _get(event, pair["from"])
            except KeyError:
                if config.get("ignore_missing"):
                    continue
                raise
            _delete(event, pair["from"])  # deletion first, as Filebeat does
            _put(event, pair["to"], value)
        except (KeyError, ValueError):
            if config.get("fail_on_error", True):
                event.clear()
                event.update(backup)  # the whole rename is reverted
                return


def _drop_fields(event: dict[str, Any], config: dict[str, Any]) -> None:
    config = _options("drop_fields", config, {"fields", "ignore_missing"})
    for field in config["fields"]:
        try:
            _delete(event, field)
        except KeyError:
            if not config.get("ignore_missing"):
                raise


HOST_METADATA = {
    "name": "im-core-1", "hostname": "im-core-1", "id": "3f1c0de1a2b34c5d8e9f00112233aabb",
    "architecture": "x86_64", "containerized": False, "ip": ["10.0.0.21"], "mac": ["02-42-AC-11-00-02"],
    "os": {"name": "Debian GNU/Linux", "family": "debian", "platform": "debian", "version": "12 (bookworm)",
           "kernel": "6.1.0-18-amd64", "type": "linux", "codename": "bookworm"},
}


def _add_host_metadata(event: dict[str, Any], config: dict[str, Any] | None) -> None:
    _options("add_host_metadata", config, set())
    _deep_update(event, {"host": HOST_METADATA})


PROCESSORS = {
    "decode_json_fields": _decode_json_fields,
    "timestamp": _timestamp,
    "rename": _rename,
    "drop_fields": _drop_fields,
    "add_host_metadata": _add_host_metadata,
}


def _run_processors(event: dict[str, Any], processors: list[dict[str, Any]]) -> None:
    for processor in processors:
        ((name, config),) = processor.items()
        if name not in PROCESSORS:
            raise NotModelled(f"processor {name!r} is not modelled by this test")
        PROCESSORS[name](event, config)


def filebeat_documents(filebeat: dict[str, Any], lines: list[str]) -> list[dict[str, Any]]:
    """The documents Filebeat would send for these lines of openim.log."""
    (stream,) = filebeat["filebeat.inputs"]
    _options("filestream input", stream, {"type", "id", "paths", "parsers", "fields", "fields_under_root",
                                          "processors"})
    assert stream["type"] == "filestream"
    documents = []
    offset = 0
    for line in lines:
        event: dict[str, Any] = {
            "@timestamp": datetime(2030, 1, 1, tzinfo=UTC),  # when Filebeat read the line
            "message": line,
            "input": {"type": "filestream"},
            "log": {"file": {"path": LOG_PATH, "device_id": "2049", "inode": "1311"}, "offset": offset},
        }
        offset += len(line.encode()) + 1
        for parser in stream.get("parsers") or []:
            ((name, config),) = parser.items()
            if name != "ndjson":
                raise NotModelled(f"parser {name!r}")
            _ndjson(event, config)
        fields = _expand(stream.get("fields") or {})
        if stream.get("fields_under_root"):
            _deep_update(event, fields)
        elif fields:
            event["fields"] = fields
        for key, value in {
            "agent": {"type": "filebeat", "version": "8.15.3", "name": "im-core-1",
                      "id": "5a4f0a44-0c3e-4d42-9d8e-111111111111", "ephemeral_id": "0e1f2a3b-2222"},
            "ecs": {"version": "8.0.0"},
            "host": {"name": "im-core-1"},
        }.items():
            if not isinstance(event.get(key), dict):  # Filebeat's builtins replace what is not a map
                event[key] = {}
            _deep_update(event[key], value)
        _run_processors(event, stream.get("processors") or [])
        _run_processors(event, filebeat.get("processors") or [])
        documents.append(event)
    return documents


# -- what the index template accepts ------------------------------------------------------------------------
def _leaves(value: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for key, child in value.items() for leaf in _leaves(child, f"{prefix}.{key}")]
    return [(prefix, value)]


def _type_ok(kind: str, value: Any) -> bool:
    if kind == KEYWORD:
        return isinstance(value, str)
    if kind == LONG:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def template_rejections(document: dict[str, Any]) -> list[str]:
    """Why Filebeat's ECS template would refuse (or mis-map) this document; empty when it is accepted."""
    problems = []
    for key, value in document.items():
        if key in ECS_OBJECTS:
            if not isinstance(value, dict):
                problems.append(f"{key}: a {type(value).__name__} where the template maps an object")
                continue
            for path, leaf in _leaves(value, key):
                if path not in ECS_LEAVES:
                    problems.append(f"{path}: not an ECS field ({leaf!r})")
                elif not _type_ok(ECS_LEAVES[path], leaf):
                    problems.append(f"{path}: {leaf!r} is not a {ECS_LEAVES[path]}")
        elif key == OWN_NAMESPACE:
            if not isinstance(value, dict):
                problems.append(f"{key}: our namespace must be an object")
        elif key not in TOP_LEVEL_SCALARS:
            problems.append(f"{key}: a top-level field outside ECS and {OWN_NAMESPACE!r}")
    if not isinstance(document.get("@timestamp"), datetime):
        problems.append("@timestamp: not a date")
    return problems


# -- the tests ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def filebeat() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((PACKAGING / "filebeat.yml").read_text(encoding="utf-8"))
    return config


@pytest.fixture(scope="module")
def documents(filebeat: dict[str, Any]) -> list[dict[str, Any]]:
    names = _call_site_field_names()
    assert {"error", "host", "client", "trace", "user_id"} <= names, names  # the collection finds them
    return filebeat_documents(filebeat, _real_log_lines(names))


def test_no_log_line_is_refused_by_the_ecs_template(documents: list[dict[str, Any]]) -> None:
    for document in documents:
        assert template_rejections(document) == [], json.dumps(document, default=str, indent=1)


def test_the_fields_land_where_the_docs_say(documents: list[dict[str, Any]]) -> None:
    by_action = {d["event"]["action"]: d for d in documents}
    closed = by_action["conn.closed"]
    assert closed["log"]["level"] == "info" and closed["log"]["logger"] == "openim.gateway"
    assert closed["openim"] == {"user_id": "u1", "reason": "idle", "count": 3}
    assert closed["@timestamp"] == _parse_go_layout("2006-01-02T15:04:05.000Z", json.loads(closed["message"])["ts"])
    assert closed["service"]["name"] == "openim" and closed["log"]["file"]["path"] == LOG_PATH
    assert closed["host"]["name"] == "im-core-1"  # the machine Filebeat runs on (add_host_metadata)

    failed = by_action["db.failed"]
    assert failed["log"]["level"] == "error"
    assert failed["error"]["stack_trace"].startswith("Traceback") and "OSError" in failed["error"]["stack_trace"]
    assert failed["openim"] == {"error": "[Errno 24] Too many open files", "host": "10.0.0.31"}
    assert by_action["gateway.listening"]["openim"]["host"] == "0.0.0.0"
    assert by_action["console.login"]["openim"]["client"] == "10.0.0.7"
    assert by_action["module.crashed.traceback"]["openim"]["trace"].startswith("Traceback")
    assert by_action["every.field"]["openim"]["error"] == "v"
    # the raw line stays searchable in `message`
    assert all(json.loads(d["message"])["event"] == d["event"]["action"] for d in documents)


def test_a_line_that_is_not_json_is_kept(filebeat: dict[str, Any]) -> None:
    """A traceback printed before logging was set up, say: kept in `message`, flagged in error.message."""
    (document,) = filebeat_documents(filebeat, ["Traceback (most recent call last):"])
    assert template_rejections(document) == []
    assert document["message"] == "Traceback (most recent call last):"
    assert document["error"]["message"].startswith("parsing input as JSON")
    assert "openim" not in document and "action" not in document.get("event", {})


def test_the_model_catches_the_mistake_it_is_for() -> None:
    """Decoding to the top level, as filebeat.yml once did, is refused: `event` and `error` are strings."""
    old = {
        "filebeat.inputs": [{"type": "filestream", "id": "x", "paths": [LOG_PATH],
                             "parsers": [{"ndjson": {"target": "", "overwrite_keys": True, "add_error_key": True}}]}],
        "processors": [{"add_host_metadata": None}],
    }
    line = json.dumps({"ts": "2026-01-02T03:04:05.678Z", "level": "error", "logger": "openim.storage",
                       "event": "db.failed", "error": "boom"})
    (document,) = filebeat_documents(old, [line])
    problems = template_rejections(document)
    assert any(p.startswith("event: a str") for p in problems), problems
    assert any(p.startswith("error: a str") for p in problems), problems
    with pytest.raises(NotModelled):
        _run_processors({}, [{"script": {"source": "function process(e) {}"}}])


def test_metricbeat_decodes_nothing() -> None:
    """Metricbeat's documents come from its modules (prometheus.*, system.*, under their own keys); the file
    adds only host metadata -- no decode_json_fields, no rename or field written at the top level."""
    metricbeat = yaml.safe_load((PACKAGING / "metricbeat.yml").read_text(encoding="utf-8"))
    assert metricbeat["processors"] == [{"add_host_metadata": None}]
    for module in metricbeat["metricbeat.modules"]:
        assert module["module"] in {"prometheus", "system"}
        assert "processors" not in module and "fields" not in module
