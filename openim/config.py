"""One YAML config, typed and validated, with environment overrides.

Lookup order (DESIGN.md section 1): ``-c PATH``, else $OPENIM_CONFIG, else /data/openim/config.yaml, else
./config.yaml, else the built-in defaults. Any key can then be overridden by an environment variable
``OPENIM_<SECTION>__<KEY>`` (``OPENIM_API__PORT=10012``; top-level keys: ``OPENIM_SECRET``); values are read
as YAML scalars, so ``30s``, ``true`` and ``[a, b]`` work. Unknown keys, wrong types and impossible values
are a :class:`ConfigError` naming the file (or variable), the key and the reason.

Durations accept ``500ms``, ``30s``, ``5m``, ``2h``, ``90d`` or a number of seconds; sizes accept ``51200``,
``64KiB``, ``4MiB``, ``1GB``.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

EXAMPLE_SECRET = "openIM123"
DEFAULT_PATHS = (Path("/data/openim/config.yaml"), Path("config.yaml"))
ENV_PREFIX = "OPENIM_"
ENV_CONFIG_PATH = "OPENIM_CONFIG"

MODULES = ("api", "gateway", "msg", "transfer", "push")


class ConfigError(Exception):
    """A config problem a person must fix; ``str()`` is one line naming source, key and reason."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}" if key else f"{source}: {reason}")
        self.source, self.key, self.reason = source, key, reason


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string with a unit."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION_RE.match(value)):
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    else:
        raise ValueError(f"expected a duration such as 500ms, 30s, 5m, 2h or 90d, got {value!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_size(value: Any) -> int:
    """Bytes from a number or a string with a unit."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 4MiB, got a boolean")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (m := _SIZE_RE.match(value)):
        size = int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    else:
        raise ValueError(f"expected a size such as 51200, 64KiB or 4MiB, got {value!r}")
    if size < 0:
        raise ValueError("a size cannot be negative")
    return size


Duration = Annotated[float, BeforeValidator(parse_duration)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]
Port = Annotated[int, Field(ge=0, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, validate_default=True)


class ApiConfig(_Section):
    """REST API (OpenIM routes), admin console and ops endpoints."""

    host: str = "0.0.0.0"
    port: Port = 10002
    max_body_size: ByteSize = 8 * 1024 * 1024


class GatewayConfig(_Section):
    """WebSocket message gateway."""

    host: str = "0.0.0.0"
    port: Port = 10001
    max_frame_size: ByteSize = 51200
    max_connections: int = Field(default=100_000, ge=1)
    handshake_timeout: Duration = 10.0
    idle_timeout: Duration = 30.0
    presence_ttl: Duration = 60.0


class StorageConfig(_Section):
    backend: Literal["sqlite", "postgres"] = "sqlite"
    sqlite_path: str = ""  # default: <data_dir>/openim.db
    postgres_dsn: str = "postgresql://127.0.0.1:5432/openim"
    pool_size: int = Field(default=10, ge=1, le=1000)


class BusConfig(_Section):
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "openim:"


class AuthConfig(_Section):
    token_expire: Duration = 90 * 86400.0
    admin_user_ids: tuple[str, ...] = ("imAdmin",)
    admin_nicknames: tuple[str, ...] = ("superAdmin",)
    # OpenIM multiLogin.policy: 0 never kick, 1 same platform kicks (default), 4 same class kicks,
    # 5 PC unlimited / one other.
    multi_login_policy: Literal[0, 1, 4, 5] = 1
    max_tokens_per_platform: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _admins(self) -> AuthConfig:
        if not self.admin_user_ids:
            raise ValueError("admin_user_ids: at least one admin user is required")
        return self


class MessagingConfig(_Section):
    friend_verify: bool = False  # true: single chat only between friends (1303)
    transfer_partitions: int = Field(default=8, ge=1, le=1024)
    batch_max: int = Field(default=1000, ge=1, le=100_000)
    sender_sync: bool = True


class LogConfig(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "human"] = "auto"


class OpsConfig(_Section):
    """/healthz, /readyz, /metrics. Served on the API port when the api module runs in this process,
    otherwise on this listener."""

    host: str = "0.0.0.0"
    port: Port = 10090


class ClusterConfig(_Section):
    """How processes find each other (cluster mode)."""

    # redis: the node registry in Redis (default); static: the nodes listed below;
    # kubernetes: service DNS names.
    discovery: Literal["redis", "static", "kubernetes"] = "redis"


class SuperviseConfig(_Section):
    """What `openim supervise` runs under its bundled supervisord."""

    # Module set of the openim program(s) and how many processes of it.
    modules: str = "all"
    processes: int = Field(default=1, ge=1, le=64)


class WebhooksConfig(_Section):
    """OpenIM's callbacks to a business backend."""

    url: str = ""  # empty: no callbacks


class OfflinePushConfig(_Section):
    """Push to devices without a foreground connection."""

    provider: Literal["none", "fcm", "apns", "http"] = "none"


class ObjectStorageConfig(_Section):
    """Uploads (/object/* routes)."""

    backend: Literal["local", "s3"] = "local"


class Config(_Section):
    secret: str = EXAMPLE_SECRET
    data_dir: str = "./data"
    node_id: str = ""  # default: <hostname>-<pid>
    shutdown_timeout: Duration = 10.0
    api: ApiConfig = ApiConfig()
    gateway: GatewayConfig = GatewayConfig()
    storage: StorageConfig = StorageConfig()
    bus: BusConfig = BusConfig()
    auth: AuthConfig = AuthConfig()
    messaging: MessagingConfig = MessagingConfig()
    log: LogConfig = LogConfig()
    ops: OpsConfig = OpsConfig()
    cluster: ClusterConfig = ClusterConfig()
    supervise: SuperviseConfig = SuperviseConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    offline_push: OfflinePushConfig = OfflinePushConfig()
    object_storage: ObjectStorageConfig = ObjectStorageConfig()

    @model_validator(mode="after")
    def _check(self) -> Config:
        if not self.secret:
            raise ValueError("secret: must not be empty")
        return self

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def sqlite_file(self) -> Path:
        return Path(self.storage.sqlite_path) if self.storage.sqlite_path else self.data_path / "openim.db"

    @property
    def is_cluster(self) -> bool:
        return self.storage.backend == "postgres" or self.bus.backend == "redis"


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    source: str  # the file read, or "built-in defaults"
    overrides: tuple[str, ...]  # environment variables applied


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


def _field_names(data: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): k for k in data}


def load_config(explicit_path: str | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, merge and validate; raise ConfigError with one clear line on any problem."""
    env = os.environ if env is None else env
    path = find_config_file(explicit_path, env)
    data: dict[str, Any] = {}
    source = "built-in defaults"
    if path is not None:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
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
    return LoadedConfig(config, source, tuple(sorted(v for v, _ in overrides.values())))


def masked_dict(config: Config) -> dict[str, Any]:
    """The effective config as plain data with secrets masked (for `openim config print` and /admin)."""
    data = config.model_dump(mode="json")
    data["secret"] = "****" if config.secret else ""
    dsn = data["storage"]["postgres_dsn"]
    data["storage"]["postgres_dsn"] = re.sub(r"(//[^:/@]+:)[^@]+@", r"\1****@", dsn)
    data["bus"]["redis_url"] = re.sub(r"(//[^:/@]*:)[^@]+@", r"\1****@", data["bus"]["redis_url"])
    return data


def new_secret() -> str:
    return secrets.token_urlsafe(32)
