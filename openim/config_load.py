"""Loading the config: the lookup order, the environment overrides, and what a loaded config is.

Lookup order: ``-c PATH``, else $OPENIM_CONFIG, else /data/openim/config.yaml, else ./config.yaml, else the
built-in defaults; then ``OPENIM_<SECTION>__<KEY>`` variables override any key (values read as YAML
scalars). Relative paths of the file are taken from its folder, and with the public example secret a
wildcard listener is narrowed to 127.0.0.1 (openim.config says why). The typed sections themselves, their
units and their rules are openim.config's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from openim.config import (
    EXAMPLE_SECRET,
    LISTENERS,
    LOOPBACK,
    PATH_KEYS,
    WILDCARD_HOSTS,
    Config,
    ConfigError,
)

DEFAULT_PATHS = (Path("/data/openim/config.yaml"), Path("config.yaml"))
ENV_PREFIX = "OPENIM_"
ENV_CONFIG_PATH = "OPENIM_CONFIG"

DEFAULTS_SOURCE = "built-in defaults"


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    source: str  # the file read, or "built-in defaults"
    overrides: tuple[str, ...]  # environment variables applied
    # dotted key -> the environment variable that set it ("secret" -> "OPENIM_SECRET")
    env_keys: Mapping[str, str] = field(default_factory=dict)
    # listeners whose wildcard host was narrowed to 127.0.0.1 because the secret is the example ("api.host")
    narrowed: tuple[str, ...] = ()

    def origin(self, key: str) -> str:
        """Where the value of ``key`` came from: its environment variable, else the file (or the defaults)."""
        return self.env_keys.get(key, self.source)


def find_config_file(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    if explicit:
        return Path(explicit)
    if env.get(ENV_CONFIG_PATH):
        return Path(env[ENV_CONFIG_PATH])
    for candidate in DEFAULT_PATHS:
        if candidate.is_file():
            return candidate
    return None


def _env_overrides(env: Mapping[str, str]) -> dict[tuple[str, ...], tuple[str, Any]]:
    """``{("api","port"): ("OPENIM_API__PORT", 10012)}`` for every OPENIM_* variable that names a key.

    A variable counts when it contains ``__`` or names a top-level key; others (OPENIM_CONFIG, variables
    of other tools that happen to share the prefix) are left alone.
    """
    top_keys = {name.upper() for name in Config.model_fields}
    found: dict[tuple[str, ...], tuple[str, Any]] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG_PATH:
            continue
        rest = name[len(ENV_PREFIX) :]
        if "__" not in rest and rest not in top_keys:
            continue
        path = tuple(part.lower() for part in rest.split("__"))
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError as exc:
            raise ConfigError(name, ".".join(path), f"not a YAML value: {exc}") from exc
        found[path] = (name, value)
    return found


def _apply(data: dict[str, Any], path: tuple[str, ...], value: Any, source: str) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(source, ".".join(path), f"{part} is not a section")
        node = child
    node[path[-1]] = value


def load_config(explicit_path: str | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, merge and validate; raise ConfigError with one clear line on any problem."""
    env = os.environ if env is None else env
    path = find_config_file(explicit_path, env)
    data: dict[str, Any] = {}
    source = DEFAULTS_SOURCE
    if path is not None:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except PermissionError as exc:
            uid, gid = os.getuid(), os.getgid()
            raise ConfigError(
                source,
                "",
                f"cannot read: {exc.strerror or exc} (as uid {uid}, gid {gid}); make the file readable by them "
                "(a config for the container image: `openim init --container`, or chgrp 10001 + chmod 0640)",
            ) from exc
        except OSError as exc:
            raise ConfigError(source, "", f"cannot read: {exc.strerror or exc}") from exc
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(source, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(source, "", "the top level must be a mapping of sections")
        data = loaded
    overrides = _env_overrides(env)
    env_sources: dict[tuple[str, ...], str] = {}
    for key_path, (var, value) in overrides.items():
        _apply(data, key_path, value, var)
        env_sources[key_path] = var
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join(loc)
        origin = env_sources.get(loc, source)
        reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise ConfigError(origin, key, reason) from exc
    if path is not None:
        config = _paths_from_folder(config, Path(os.path.abspath(path.expanduser())).parent, set(env_sources))
    config, narrowed = _local_only_with_example_secret(config)
    return LoadedConfig(
        config,
        source,
        tuple(sorted(v for v, _ in overrides.values())),
        {".".join(k): v for k, v in env_sources.items()},
        narrowed,
    )


def _replace(config: Config, key: tuple[str, ...], value: Any) -> Config:
    """``config`` with one (frozen) field replaced, validators not run again."""
    if len(key) == 1:
        return config.model_copy(update={key[0]: value})
    section = getattr(config, key[0])
    return config.model_copy(update={key[0]: section.model_copy(update={key[1]: value})})


def _get(config: Config, key: tuple[str, ...]) -> Any:
    node: Any = config
    for part in key:
        node = getattr(node, part)
    return node


def _paths_from_folder(config: Config, folder: Path, from_env: set[tuple[str, ...]]) -> Config:
    """Relative paths of the file (and defaults) resolved against its folder; the environment's stay as given."""
    for key in PATH_KEYS:
        value = _get(config, key)
        if not value or key in from_env:
            continue
        expanded = Path(value).expanduser()
        if not expanded.is_absolute():
            config = _replace(config, key, os.path.normpath(folder / expanded))
        elif str(expanded) != value:
            config = _replace(config, key, str(expanded))
    return config


def _local_only_with_example_secret(config: Config) -> tuple[Config, tuple[str, ...]]:
    """With the example secret, wildcard listeners bind 127.0.0.1; a specific address is left as chosen."""
    if config.secret != EXAMPLE_SECRET:
        return config, ()
    narrowed = []
    for section in LISTENERS:
        if getattr(config, section).host in WILDCARD_HOSTS:
            config = _replace(config, (section, "host"), LOOPBACK)
            narrowed.append(f"{section}.host")
    return config, tuple(narrowed)
