"""openim.config: lookup order, environment overrides, validation errors, human units, and the example file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import openim.config as config_mod
import openim.config_load as config_load
from openim.config import EXAMPLE_SECRET, Config, ConfigError, masked_dict, parse_duration, parse_size
from openim.config_load import load_config
from openim.config_review import Review, review_config
from openim.config_template import render_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.yaml"
shipped_default_paths = config_load.DEFAULT_PATHS  # read before any test patches it


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory, with no OPENIM_* variables and no /data/openim/config.yaml of this machine."""
    for name in list(os.environ):
        if name.startswith("OPENIM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    system = tmp_path / "system" / "config.yaml"  # stands in for /data/openim/config.yaml
    monkeypatch.setattr(config_load, "DEFAULT_PATHS", (system, Path("config.yaml")))
    return tmp_path


def _defaults_as_loaded(folder: Path | None = None) -> Config:
    """Config() as load_config hands it out: the example secret narrows the wildcard hosts to 127.0.0.1, and
    with a file (``folder``) the relative data_dir is taken from the file's folder."""
    data: dict[str, Any] = {section: {"host": "127.0.0.1"} for section in ("api", "gateway", "ops")}
    if folder is not None:
        data["data_dir"] = str(folder / "data")
    return Config.model_validate(data)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- lookup order -------------------------------------------------------------------------------------------


def test_the_default_search_path_is_the_system_file_then_the_working_directory() -> None:
    assert shipped_default_paths == (Path("/data/openim/config.yaml"), Path("config.yaml"))


def test_no_file_anywhere_means_built_in_defaults() -> None:
    loaded = load_config(None, env={})
    assert loaded.source == "built-in defaults"
    assert loaded.config == _defaults_as_loaded()
    assert loaded.config.data_dir == "./data"  # no file: from the current directory
    assert loaded.config.api.port == 10002 and loaded.config.gateway.port == 10001
    assert loaded.config.storage.backend == "sqlite" and loaded.config.bus.backend == "memory"


def test_lookup_order_explicit_then_env_then_system_then_cwd(tmp_path: Path) -> None:
    explicit = _write(tmp_path / "explicit.yaml", "api: {port: 1001}\n")
    from_env = _write(tmp_path / "env.yaml", "api: {port: 1002}\n")
    system = _write(config_load.DEFAULT_PATHS[0], "api: {port: 1003}\n")
    _write(tmp_path / "config.yaml", "api: {port: 1004}\n")  # ./config.yaml via the working directory
    env = {"OPENIM_CONFIG": str(from_env)}

    assert load_config(str(explicit), env=env).config.api.port == 1001
    assert load_config(None, env=env).config.api.port == 1002
    assert load_config(None, env={}).config.api.port == 1003
    system.unlink()
    loaded = load_config(None, env={})
    assert loaded.config.api.port == 1004
    assert loaded.source == "config.yaml"


def test_an_explicit_file_that_does_not_exist_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(str(tmp_path / "missing.yaml"), env={})
    assert "missing.yaml" in str(err.value) and "cannot read" in str(err.value)


# -- environment overrides ----------------------------------------------------------------------------------


def test_env_overrides_a_section_key_and_a_top_level_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.yaml", "api: {port: 1001}\nsecret: from-file\n")
    env = {"OPENIM_API__PORT": "10012", "OPENIM_SECRET": "from-env", "OPENIM_GATEWAY__IDLE_TIMEOUT": "2m"}
    loaded = load_config(str(path), env=env)
    assert loaded.config.api.port == 10012
    assert loaded.config.secret == "from-env"
    assert loaded.config.gateway.idle_timeout == 120.0
    assert set(loaded.overrides) == set(env)


def test_unrelated_openim_variables_are_left_alone() -> None:
    loaded = load_config(None, env={"OPENIM_CONFIG_DIR": "/x", "OPENIM_SOMETHING": "1"})
    assert loaded.config == _defaults_as_loaded()
    assert loaded.overrides == ()


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("OPENIM_API__PORT", "not-a-port", "api.port"),
        ("OPENIM_API__PORT", "70000", "api.port"),
        ("OPENIM_GATEWAY__NO_SUCH_KEY", "1", "gateway.no_such_key"),
        ("OPENIM_STORAGE__BACKEND", "mysql", "storage.backend"),
    ],
)
def test_a_bad_override_names_the_variable_and_the_key(name: str, value: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, env={name: value})
    message = str(err.value)
    assert message.startswith(f"{name}: {key}: "), message
    assert err.value.source == name and err.value.key == key


# -- validation errors name file, key and reason -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("api:\n  port: 10002\n  prot: 1\n", "api.prot", "unknown key"),
        ("nonsense: 1\n", "nonsense", "unknown key"),
        ("api:\n  port: ten\n", "api.port", "integer"),
        ("api:\n  port: 70000\n", "api.port", "65535"),
        ("gateway:\n  idle_timeout: soon\n", "gateway.idle_timeout", "duration"),
        ("gateway:\n  max_frame_size: 4XB\n", "gateway.max_frame_size", "size"),
        ("storage:\n  backend: mysql\n", "storage.backend", "sqlite"),
        ("messaging:\n  transfer_partitions: 0\n", "messaging.transfer_partitions", "greater than or equal to 1"),
        ("auth:\n  admin_user_ids: []\n", "auth", "at least one admin"),
        ('secret: ""\n', "", "secret"),
    ],
)
def test_bad_values_raise_config_error_naming_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = _write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_config(str(path), env={})
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    assert key in message, message
    assert reason in message, message


def test_a_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.yaml", "api:\n  port: 1\n bad indent: [\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(path), env={})
    assert str(path) in str(err.value) and "line" in str(err.value) and "YAML" in str(err.value)


def test_a_file_whose_top_level_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "list.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(str(path), env={})


def test_an_empty_file_means_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.yaml", "# nothing set\n")
    assert load_config(str(path), env={}).config == _defaults_as_loaded(tmp_path)


# -- human units -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("90d", 90 * 86400.0),
        ("1.5s", 1.5),
        (12, 12.0),
        (0.25, 0.25),
        ("7", 7.0),
        (" 10s ", 10.0),
    ],
)
def test_parse_duration(value: Any, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["soon", "5 weeks", "-1s", "s", "", True, None, [1]])
def test_parse_duration_refuses(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (51200, 51200),
        ("51200", 51200),
        ("64KiB", 65536),
        ("64kb", 64000),
        ("4MiB", 4 * 1024**2),
        ("1GB", 10**9),
        ("1GiB", 1024**3),
        ("10B", 10),
        ("1.5KiB", 1536),
    ],
)
def test_parse_size(value: Any, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["4XB", "lots", "-1", -1, True, 1.5, None])
def test_parse_size_refuses(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_size(value)


def test_units_in_a_file_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "u.yaml", "shutdown_timeout: 1500ms\napi: {max_body_size: 2MiB}\n")
    cfg = load_config(str(path), env={}).config
    assert cfg.shutdown_timeout == 1.5
    assert cfg.api.max_body_size == 2 * 1024**2


# -- the example file --------------------------------------------------------------------------------------


def test_example_file_is_the_rendered_template() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render_config(), (
        "config.example.yaml differs from openim.config_template.render_config(); regenerate it with\n"
        "  python -c 'from openim.config_template import render_config; print(render_config(), end=\"\")' "
        "> config.example.yaml"
    )


def test_example_file_loads_and_shows_the_defaults() -> None:
    loaded = load_config(str(EXAMPLE), env={})
    assert loaded.config == _defaults_as_loaded(EXAMPLE.parent), (
        "a value in config.example.yaml differs from the built-in default"
    )
    assert loaded.config.secret == EXAMPLE_SECRET


def _field_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        paths.append(path)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(_field_paths(annotation, path))
    return paths


def test_every_config_field_is_documented_in_the_example() -> None:
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    paths = _field_paths(Config)
    assert len(paths) > 20  # the walk really recursed into the sections
    missing = []
    for path in paths:
        node: Any = example
        for part in path:
            if not isinstance(node, dict) or part not in node:
                missing.append(".".join(path))
                break
            node = node[part]
    assert not missing, f"keys missing from config.example.yaml: {', '.join(missing)}"


def test_rendered_template_with_a_fresh_secret_loads(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.yaml", render_config(secret="s3cret-value", data_dir=str(tmp_path / "d")))
    cfg = load_config(str(path), env={}).config
    assert cfg.secret == "s3cret-value"
    assert cfg.data_path == tmp_path / "d"
    assert cfg.sqlite_file == tmp_path / "d" / "openim.db"


# -- masking -------------------------------------------------------------------------------------------------


def test_masked_dict_hides_the_secret_and_passwords_in_urls() -> None:
    cfg = Config.model_validate(
        {
            "secret": "top-secret",
            "storage": {"postgres_dsn": "postgresql://im:pg-pass@db:5432/openim"},
            "bus": {"redis_url": "redis://:redis-pass@cache:6379/0"},
        }
    )
    data = masked_dict(cfg)
    flat = yaml.safe_dump(data)
    for secret in ("top-secret", "pg-pass", "redis-pass"):
        assert secret not in flat
    assert data["secret"] == "****"
    assert data["storage"]["postgres_dsn"] == "postgresql://im:****@db:5432/openim"
    assert data["bus"]["redis_url"] == "redis://:****@cache:6379/0"


def test_cluster_mode_follows_the_backends() -> None:
    assert not Config().is_cluster
    assert Config.model_validate({"storage": {"backend": "postgres"}}).is_cluster
    assert Config.model_validate({"bus": {"backend": "redis"}}).is_cluster


# -- relative paths: from the config file's folder ------------------------------------------------------------


def _path_fields(model: type[BaseModel] = Config, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= _path_fields(annotation, (*prefix, name))
        elif name.endswith(("_dir", "_path", "_file")):
            found.add((*prefix, name))
    return found


def test_every_key_that_names_a_place_on_disk_is_resolved() -> None:
    assert set(config_mod.PATH_KEYS) == _path_fields()


def test_relative_paths_of_a_file_are_from_its_folder_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "srv" / "im"
    path = _write(
        folder / "config.yaml",
        "data_dir: ./state\nstorage: {sqlite_path: db/im.sqlite}\nsupervise: {log_dir: ../logs, programs_dir: /opt/p}\n"
        "object_storage: {local_dir: files}\n",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config("../srv/im/config.yaml", env={}).config  # the file named relative to the cwd
    assert cfg.data_dir == str(folder / "state")
    assert cfg.sqlite_file == folder / "db" / "im.sqlite"
    assert cfg.supervise.log_dir == str(tmp_path / "srv" / "logs")
    assert cfg.supervise.programs_dir == "/opt/p"  # absolute: as written
    assert cfg.object_storage.local_dir == str(folder / "files")
    assert cfg.offline_push.fcm_credentials_file == ""  # empty: still "derived from data_dir"

    # a default, while a file is read, is from its folder too; the environment's value from the cwd
    defaults = load_config(str(_write(folder / "bare.yaml", "api: {port: 10012}\n")), env={}).config
    assert defaults.data_dir == str(folder / "data")
    from_env = load_config(str(path), env={"OPENIM_DATA_DIR": "./mine"}).config
    assert from_env.data_dir == "./mine" and from_env.object_storage.local_dir == str(folder / "files")


def test_a_home_relative_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = _write(tmp_path / "c.yaml", "data_dir: ~/openim-data\n")
    assert load_config(str(path), env={}).config.data_dir == str(tmp_path / "home" / "openim-data")


# -- the example secret: listeners on 127.0.0.1 ----------------------------------------------------------------


def test_the_example_secret_narrows_wildcard_hosts_to_loopback(tmp_path: Path) -> None:
    loaded = load_config(None, env={})
    assert (loaded.config.api.host, loaded.config.gateway.host, loaded.config.ops.host) == ("127.0.0.1",) * 3
    assert loaded.narrowed == ("api.host", "gateway.host", "ops.host")

    # a wildcard written in the file (config.example.yaml has them) is narrowed as well; a chosen address is not
    path = _write(tmp_path / "c.yaml", "api: {host: 0.0.0.0}\ngateway: {host: '::'}\nops: {host: 10.1.2.3}\n")
    loaded = load_config(str(path), env={})
    assert (loaded.config.api.host, loaded.config.gateway.host, loaded.config.ops.host) == (
        "127.0.0.1", "127.0.0.1", "10.1.2.3")  # fmt: skip

    own = load_config(str(path), env={"OPENIM_SECRET": "a-secret-of-our-own"})
    assert (own.config.api.host, own.config.gateway.host) == ("0.0.0.0", "::") and own.narrowed == ()
    assert load_config(None, env={"OPENIM_SECRET": "x" * 32}).config.api.host == "0.0.0.0"


# -- the review: what serve, supervise and config check refuse or warn of --------------------------------------


def test_the_review_refuses_the_example_secret_in_cluster_mode_naming_where_it_came_from(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.yaml", "storage: {backend: postgres}\n")
    review = review_config(load_config(str(path), env={}))
    (refusal,) = review.refusals
    assert not review.ok
    assert str(refusal).startswith(f"{path}: secret: cluster mode refuses the example secret; ")
    assert "openim init" in str(refusal) and "OPENIM_SECRET" in str(refusal)
    assert review.warnings == ()  # a refusal says it all

    from_env = review_config(load_config(str(path), env={"OPENIM_SECRET": EXAMPLE_SECRET}))
    assert str(from_env.refusals[0]).startswith("OPENIM_SECRET: secret: cluster mode refuses")
    assert review_config(load_config(str(path), env={"OPENIM_SECRET": "x" * 32})).refusals == ()


def test_the_review_warns_of_the_example_secret_in_the_embedded_mode(tmp_path: Path) -> None:
    (warning,) = review_config(load_config(None, env={})).warnings
    text = str(warning)
    assert text.startswith("built-in defaults: secret: the public example value 'openIM123' ")
    assert "listens on 127.0.0.1 only" in text
    assert "openim init" in text and "`secret:`" in text and "OPENIM_SECRET" in text

    exposed = _write(tmp_path / "c.yaml", "api: {host: 192.0.2.7}\n")
    (warning,) = review_config(load_config(str(exposed), env={})).warnings
    assert "api.host 192.0.2.7 takes connections from the network" in str(warning)

    local = _write(tmp_path / "l.yaml", "api: {host: 127.0.0.1}\ngateway: {host: 127.0.0.1}\nops: {host: '::1'}\n")
    (warning,) = review_config(load_config(str(local), env={})).warnings
    assert "on this machine only" in str(warning)

    assert review_config(load_config(None, env={"OPENIM_SECRET": "x" * 32})) == Review((), ())


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("supervise: {processes: 2}\n", "supervise.processes"),
        ("supervise: {modules: 'gateway,api'}\n", "supervise.modules"),
    ],
)
def test_the_review_refuses_more_than_one_process_in_the_embedded_mode(tmp_path: Path, body: str, key: str) -> None:
    path = _write(tmp_path / "c.yaml", f"secret: {'x' * 32}\n{body}")
    (refusal,) = review_config(load_config(str(path), env={})).refusals
    assert refusal.key == key and str(refusal).startswith(f"{path}: {key}: ") and "cluster mode" in str(refusal)


def test_the_review_refuses_a_node_static_discovery_does_not_list(tmp_path: Path) -> None:
    cluster = (
        f"secret: {'x' * 32}\nbus: {{backend: redis}}\n"
        "cluster: {discovery: static, static_nodes: {gw-1: {}, gw-2-0: {}, gw-2-1: {}}}\n"
    )

    def refusals(body: str, env: dict[str, str] | None = None, node_id: str | None = None) -> list[str]:
        loaded = load_config(str(_write(tmp_path / "c.yaml", cluster + body)), env=env or {})
        return [str(r) for r in review_config(loaded, node_id=node_id).refusals]

    assert refusals("node_id: gw-1\n") == []
    assert refusals("", env={"OPENIM_NODE_ID": "gw-1"}) == []
    (unset,) = refusals("")  # the default id, <hostname>-<pid>, is never listed
    assert "node_id: discovery static needs node_id set" in unset and "listed: gw-1, gw-2-0, gw-2-1" in unset
    (typo,) = refusals("", env={"OPENIM_NODE_ID": "gw-9"})
    assert typo.startswith("OPENIM_NODE_ID: node_id: cluster.static_nodes does not list node_id 'gw-9'")
    # supervise runs processes <node_id>-0 ... -N: the config check judges those; serve judges its own id
    assert refusals("node_id: gw-2\nsupervise: {processes: 2}\n") == []
    assert refusals("node_id: gw-2\nsupervise: {processes: 2}\n", node_id="gw-2-1") == []
    assert refusals("node_id: gw-2\nsupervise: {processes: 3}\n") != []


@pytest.mark.parametrize(
    "url", ["https://grafana.example.net/d/openim?orgId=1", "http://10.0.0.5:3000/", ""]
)
def test_grafana_url_takes_an_http_url_or_nothing(url: str) -> None:
    assert load_config(None, env={"OPENIM_OPS__GRAFANA_URL": url}).config.ops.grafana_url == url


@pytest.mark.parametrize(
    "url",
    ["grafana.example.net", "ftp://grafana.example.net/", "https://", "https://g.example/a b",
     "https://g.example/\r\nSet-Cookie: x=1", "https://g.example/ü"],
)
def test_grafana_url_refuses_what_cannot_be_a_redirect(url: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, env={"OPENIM_OPS__GRAFANA_URL": url})
    assert err.value.key == "ops.grafana_url"
