"""One YAML config, typed and validated, with environment overrides: the sections, their units and rules.
Loading one (the lookup, the overrides, relative paths) is openim.config_load's; judging whether a loaded
config may run is openim.config_review's.

Lookup order: ``-c PATH``, else $OPENIM_CONFIG, else /data/openim/config.yaml, else
./config.yaml, else the built-in defaults. Any key can then be overridden by an environment variable
``OPENIM_<SECTION>__<KEY>`` (``OPENIM_API__PORT=10012``; top-level keys: ``OPENIM_SECRET``); values are read
as YAML scalars, so ``30s``, ``true`` and ``[a, b]`` work. Unknown keys, wrong types and impossible values
are a :class:`ConfigError` naming the file (or variable), the key and the reason.

Durations accept ``500ms``, ``30s``, ``5m``, ``2h``, ``90d`` or a number of seconds; sizes accept ``51200``,
``64KiB``, ``4MiB``, ``1GB``.

A relative path that names a place on disk (:data:`PATH_KEYS`: ``data_dir``, ``storage.sqlite_path``, ...) is
taken from the config file's folder when the value comes from the file (or is a default while a file is
read), and from the current directory when it comes from the environment or there is no file. So
``openim supervise status -c /srv/im/config.yaml`` finds the same ``data_dir`` from any directory.

With the public example secret, a listener whose host is a wildcard (``0.0.0.0``, ``::``) binds 127.0.0.1
instead: the server is a trial on this machine until it has a secret of its own (docs/operations.md,
"Security").

What the loaded config may not run with, and what is worth a warning, is decided in one place,
openim.config_review.review_config: `openim config check` (the pre-start check of the systemd units), `openim serve` and
`openim supervise` all refuse with its text.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from openim.webhook_catalog import HOOKS
from openim.wire.constants import Platform

EXAMPLE_SECRET = "openIM123"
LOOPBACK = "127.0.0.1"
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")
LISTENERS = ("api", "gateway", "ops")  # the sections with a host to bind
# The keys whose value is a place on disk: relative ones are resolved against the config file's folder.
PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("data_dir",),
    ("storage", "sqlite_path"),
    ("supervise", "log_dir"),
    ("supervise", "programs_dir"),
    ("offline_push", "fcm_credentials_file"),
    ("offline_push", "apns_key_file"),
    ("object_storage", "local_dir"),
)

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
    # Open connections on this listener, and from one client address (0 = no limit); past either the
    # connection is answered 1601 and closed before anything is read from it.
    max_connections: int = Field(default=10_000, ge=0)
    max_connections_per_ip: int = Field(default=1000, ge=0)
    # A connection must have sent a whole request head this long after it opened or after its last
    # answer (idle keep-alive included), and a request's whole body this long after its head.
    header_timeout: Duration = Field(default=30.0, gt=0)
    body_timeout: Duration = Field(default=60.0, gt=0)
    # GET /openapi.json (app admins only): the routes as an OpenAPI document, for the fuzzer and tools.
    openapi: bool = False


class GatewayConfig(_Section):
    """WebSocket message gateway."""

    host: str = "0.0.0.0"
    port: Port = 10001
    max_frame_size: ByteSize = 51200
    max_connections: int = Field(default=100_000, ge=1)
    # Connections from one client address (handshakes included; 0 = no limit), and handshakes in
    # progress in all and from one address: past them a socket is answered 1601 and closed at once.
    max_connections_per_ip: int = Field(default=1000, ge=0)
    max_handshakes: int = Field(default=2000, ge=0)
    max_handshakes_per_ip: int = Field(default=100, ge=0)
    handshake_timeout: Duration = 10.0
    idle_timeout: Duration = 30.0
    presence_ttl: Duration = 60.0
    # wsproto: our own driver, each connection's queued frames in one write (fast path);
    # trio-websocket: the library (one write per frame).
    transport: Literal["wsproto", "trio-websocket"] = "wsproto"


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
    # How often expired and long-kicked tokens are deleted (0: never); kicked ones after this long.
    token_purge_interval: Duration = Field(default=3600.0, ge=0)
    kicked_token_retention: Duration = Field(default=86400.0, ge=0)

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


class FieldLimitsConfig(_Section):
    """Longest text, in characters, a client may store in each field (openim.services.field_limits):
    register and update alike; longer is refused with 1001 (ArgsError)."""

    nickname: int = Field(default=255, ge=1)  # users, group members
    face_url: int = Field(default=2048, ge=1)  # users, groups, group members
    ex: int = Field(default=4096, ge=1)  # users, friends, blacks, groups, members, requests, conversations
    remark: int = Field(default=255, ge=1)  # friends
    req_msg: int = Field(default=1024, ge=1)  # friend and group requests
    handle_msg: int = Field(default=1024, ge=1)  # answers to them
    group_name: int = Field(default=255, ge=1)
    notification: int = Field(default=4096, ge=1)  # group notice
    introduction: int = Field(default=4096, ge=1)  # group introduction
    attached_info: int = Field(default=4096, ge=1)  # conversations
    device_token: int = Field(default=1024, ge=1)  # offline-push tokens (/third/fcm_update_token)
    command_value: int = Field(default=4096, ge=1)  # entries of users' command lists (value)


class LogConfig(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "human"] = "auto"
    # An error logged again with the same event and cause within this window is counted, not written;
    # the next line written says how many were suppressed (0 = write every one).
    repeat_window: Duration = Field(default=10.0, ge=0)


class SecurityConfig(_Section):
    """Rates and throttles against floods and guessing (openim.security); 0 turns a rate off."""

    # Messages a user may send per second (WebSocket 1003 and /msg/send_msg), and how many may be
    # saved up for a burst. App admins are not limited.
    send_rate: float = Field(default=200.0, ge=0)
    send_burst: int = Field(default=2000, ge=1)
    # Logins (WebSocket handshakes, /auth/get_user_token, the demo sign-in) per user per second and burst,
    # and WebSocket handshakes per client address.
    login_rate_user: float = Field(default=1.0, ge=0)
    login_burst_user: int = Field(default=30, ge=1)
    login_rate_ip: float = Field(default=20.0, ge=0)
    login_burst_ip: int = Field(default=500, ge=1)
    # Wrong admin secrets (/auth/get_admin_token, the console sign-in) one client address may try before
    # it is blocked for admin_secret_backoff, doubling with every further failure up to
    # admin_secret_backoff_max (0 attempts = no throttle).
    admin_secret_attempts: int = Field(default=5, ge=0)
    admin_secret_backoff: Duration = Field(default=1.0, gt=0)
    admin_secret_backoff_max: Duration = Field(default=300.0, gt=0)
    # Users and addresses tracked per limit; past it the idle ones are forgotten first.
    max_tracked_keys: int = Field(default=100_000, ge=100)
    # Client addresses the per-address limits (connections, handshakes, logins per address) do not
    # apply to: a reverse proxy or load generator on this host. Wrong admin secrets count for every address.
    exempt_ips: tuple[str, ...] = ("127.0.0.1", "::1")


class OpsConfig(_Section):
    """/healthz, /readyz, /metrics. Served on the API port when the api module runs in this process,
    otherwise on this listener."""

    host: str = "0.0.0.0"
    port: Port = 10090
    # The Grafana dashboard over /metrics that GET /third/prometheus redirects to (OpenIM's admin panel
    # opens it); empty: that route answers 404 with errCode 1004.
    grafana_url: str = ""

    @field_validator("grafana_url")
    @classmethod
    def _grafana_url(cls, url: str) -> str:
        if not url:
            return url
        parts = urlsplit(url)
        # It goes out in a Location header: printable ASCII only, no spaces or line breaks.
        if parts.scheme not in ("http", "https") or not parts.netloc or not all(0x21 <= ord(c) < 0x7F for c in url):
            raise ValueError(f"expected an http:// or https:// URL with a host and no spaces, got {url!r}")
        return url


class ClusterConfig(_Section):
    """How processes find each other, and the timings of failover (cluster mode).

    Redis carries every message between processes in all three discovery modes (queues, node channels,
    presence); ``discovery`` decides where the list of members comes from, which ``openim cluster status``
    checks the live registry against (openim.cluster.discovery).
    """

    # redis: the node registry in Redis (default); static: the nodes listed in static_nodes;
    # kubernetes: the service DNS names in kubernetes_services.
    discovery: Literal["redis", "static", "kubernetes"] = "redis"
    # static: node id -> {module: "host:port"} ("" for modules without a listener, "ops" for the
    # ops listener of a process without the api module). A process whose node_id is not listed refuses to start.
    static_nodes: dict[str, dict[str, str]] = Field(default_factory=dict)
    # kubernetes: module -> "service-dns-name:port" (a headless Service: one A record per pod).
    kubernetes_services: dict[str, str] = Field(default_factory=dict)
    # The host this process registers its listeners under when they bind 0.0.0.0 / ::
    # (empty: this host's address as its hostname resolves).
    advertise_host: str = ""
    # A process heartbeats its registry entry every third of this; readers treat an older one as dead.
    node_ttl: Duration = Field(default=15.0, gt=0)
    # A transfer/push partition's owner renews its lease every third of this; when the owner dies,
    # another process takes the partition after at most this long.
    lease_ttl: Duration = Field(default=10.0, gt=0)
    # Queue items taken by a consumer that died are handed to the partition's next owner after this long.
    redeliver_after: Duration = Field(default=20.0, gt=0)
    # How long a send waits for the transfer stage's commit before the client is told to retry
    # (the retry with the same clientMsgID is deduplicated).
    send_timeout: Duration = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _discovery(self) -> ClusterConfig:
        if self.discovery == "static" and not self.static_nodes:
            raise ValueError("static_nodes: discovery static needs at least one node")
        if self.discovery == "kubernetes" and not self.kubernetes_services:
            raise ValueError("kubernetes_services: discovery kubernetes needs at least one service name")
        for name, address in self.kubernetes_services.items():
            if name not in MODULES:
                raise ValueError(f"kubernetes_services: unknown module {name!r}")
            if not address.rpartition(":")[2].isdigit():
                raise ValueError(f"kubernetes_services: {name}: expected service-name:port, got {address!r}")
        for node_id, modules in self.static_nodes.items():
            if "|" in node_id:
                raise ValueError(f"static_nodes: node id {node_id!r} must not contain '|'")
            unknown = [m for m in modules if m not in (*MODULES, "ops")]
            if unknown:
                raise ValueError(f"static_nodes: {node_id}: unknown module {', '.join(unknown)}")
        return self


class SuperviseConfig(_Section):
    """What `openim supervise` runs under its bundled supervisord (openim.deploy.supervise)."""

    # Module set of the openim program(s) ("all" or a comma list) and how many processes of it. Anything but
    # one process of every module needs cluster mode (storage postgres, bus redis).
    modules: str = "all"
    processes: int = Field(default=1, ge=1, le=64)
    # Process n (0-based) of several listens on api.port, gateway.port and ops.port + n * port_step.
    port_step: int = Field(default=10, ge=1, le=1000)
    # Where supervisord and its programs write their logs; empty = <data_dir>/logs.
    log_dir: str = ""
    # The supervisord program files (*.conf); empty = the supervisor.d bundled with openim.
    programs_dir: str = ""

    @field_validator("modules")
    @classmethod
    def _module_set(cls, value: str) -> str:
        names = [part.strip() for part in value.split(",") if part.strip()]
        if names != ["all"] and (not names or any(n not in MODULES for n in names)):
            raise ValueError(f"expected 'all' or a comma list of {', '.join(MODULES)}, got {value!r}")
        return value


class WebhooksConfig(_Section):
    """OpenIM's callbacks to a business backend (openim.webhooks; names in openim/webhook_catalog.py)."""

    url: str = ""  # empty: no callbacks
    # Callbacks to fire, by OpenIM's config key (beforeSendSingleMsg, afterUserOnline, ...); "*" = all.
    enable: tuple[str, ...] = ()
    # How long a before-callback may take; after-callbacks use it per attempt.
    timeout: Duration = Field(default=5.0, gt=0)
    # A before-callback that fails (timeout, connection error, non-JSON answer): true lets the operation go
    # on ("fail open"), false refuses it with 90004/90007 as OpenIM does ("fail closed").
    fail_open: bool = False
    # Message callbacks skip these content types (OpenIM's deniedTypes); notifications and typing always skip.
    denied_content_types: tuple[int, ...] = ()
    # After-message callbacks only for these recipients (OpenIM's attentionIds); empty = everyone.
    attention_ids: tuple[str, ...] = ()
    # Extra request headers, e.g. an Authorization your receiver checks.
    headers: dict[str, str] = Field(default_factory=dict)
    # After-callbacks: queued durably (the store; Redis in a cluster), sent by workers, retried with
    # exponential backoff, dead letters after after_attempts. after_queue_size bounds what waits in memory
    # for its durable write; after_queue_limit bounds the durable queue (docs/operations.md, "Webhooks").
    after_queue_size: int = Field(default=10_000, ge=1)
    after_queue_limit: int = Field(default=1_000_000, ge=1)
    after_workers: int = Field(default=2, ge=1, le=64)
    after_attempts: int = Field(default=5, ge=1, le=100)
    after_backoff: Duration = Field(default=1.0, gt=0)
    after_backoff_max: Duration = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _hooks(self) -> WebhooksConfig:
        unknown = [h for h in self.enable if h != "*" and h not in HOOKS]
        if unknown:
            raise ValueError(f"enable: unknown callback {', '.join(unknown)} (known: {', '.join(sorted(HOOKS))})")
        if self.enable and not self.url:
            raise ValueError("url: callbacks are enabled but no url is set")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url: expected http:// or https://, got {self.url!r}")
        return self


PushProviderName = Literal["fcm", "apns", "http"]
# With several providers, the platforms each one serves unless platform_providers says otherwise.
DEFAULT_PLATFORM_PROVIDERS: dict[Platform, str] = {
    Platform.IOS: "apns",
    Platform.IPAD: "apns",
    Platform.ANDROID: "fcm",
    Platform.APAD: "fcm",
}
NO_PUSH = "none"


def _platform_of(key: str) -> Platform:
    """A platform_providers key: OpenIM's platform name (any case) or its number."""
    wanted = key.strip().lower()
    for platform in Platform:
        if wanted in (str(platform.value), platform.wire_name.lower(), platform.name.lower()):
            return platform
    names = ", ".join(f"{p.wire_name} ({p.value})" for p in Platform)
    raise ValueError(f"platform_providers: unknown platform {key!r}; the platforms are {names}")


class OfflinePushConfig(_Section):
    """Push to devices without a foreground connection (openim.offline_push)."""

    # One provider for every device (the original setting), or none.
    provider: Literal["none", "fcm", "apns", "http"] = "none"
    # Several providers at once (instead of provider), each device pushed by its platform's provider:
    # see platform_providers and DEFAULT_PLATFORM_PROVIDERS.
    providers: tuple[PushProviderName, ...] = ()
    # Platform (OpenIM name or number) -> one of providers, or "none" (no push); overrides the defaults.
    platform_providers: dict[str, str] = Field(default_factory=dict)
    # Requests in flight at once, and how many recipients one batch of the push stage hands over.
    concurrency: int = Field(default=16, ge=1, le=1000)
    batch_size: int = Field(default=500, ge=1, le=100_000)
    timeout: Duration = Field(default=10.0, gt=0)
    # Title and text when the message carries no offlinePushInfo.
    default_title: str = "You have a new message."
    default_desc: str = ""
    # fcm: a Firebase service-account JSON file (project_id, client_email, private_key, token_uri).
    fcm_credentials_file: str = ""
    fcm_endpoint: str = "https://fcm.googleapis.com"
    # apns: token auth with a .p8 signing key.
    apns_key_file: str = ""
    apns_key_id: str = ""
    apns_team_id: str = ""
    apns_topic: str = ""  # the app's bundle id
    apns_sandbox: bool = False
    apns_endpoint: str = ""  # empty: Apple's production or sandbox host
    # http: your own push gateway receives one JSON POST per batch.
    http_url: str = ""
    http_headers: dict[str, str] = Field(default_factory=dict)

    @property
    def provider_names(self) -> tuple[str, ...]:
        """The providers that run: those of ``providers``, else ``provider`` unless none."""
        if self.providers:
            return self.providers
        return () if self.provider == NO_PUSH else (self.provider,)

    def platform_routes(self) -> dict[int, str]:
        """With ``providers``: platform id -> provider name, for the platforms that get pushes."""
        routes: dict[Platform, str] = {p: n for p, n in DEFAULT_PLATFORM_PROVIDERS.items() if n in self.providers}
        for key, name in self.platform_providers.items():
            routes[_platform_of(key)] = name
        return {int(p): name for p, name in sorted(routes.items()) if name != NO_PUSH}

    @model_validator(mode="after")
    def _provider(self) -> OfflinePushConfig:
        if self.providers and self.provider != NO_PUSH:
            raise ValueError(
                f"set provider ({self.provider}: one provider for every device) or providers "
                f"({', '.join(self.providers)}: one per platform), not both"
            )
        if len(set(self.providers)) != len(self.providers):
            raise ValueError(f"providers lists a provider twice: {', '.join(self.providers)}")
        if self.platform_providers and not self.providers:
            raise ValueError("platform_providers needs providers (with provider, every platform goes to it)")
        for name in self.provider_names:
            needed = {
                "fcm": ("fcm_credentials_file",),
                "apns": ("apns_key_file", "apns_key_id", "apns_team_id", "apns_topic"),
                "http": ("http_url",),
            }[name]
            missing = [field for field in needed if not getattr(self, field)]
            if missing:
                raise ValueError(f"provider {name} needs {', '.join(missing)}")
        if self.providers:
            for key, name in self.platform_providers.items():
                _platform_of(key)
                if name != NO_PUSH and name not in self.providers:
                    raise ValueError(
                        f"platform_providers: {key} goes to {name!r}, which is not among providers "
                        f"({', '.join(self.providers)}) nor {NO_PUSH!r}"
                    )
            routed = set(self.platform_routes().values())
            idle = [name for name in self.providers if name not in routed]
            if idle:
                raise ValueError(
                    f"providers lists {', '.join(idle)} but no platform goes to it: map platforms to it in "
                    f"platform_providers (e.g. {{Android: {idle[0]}}}) or remove it from providers"
                )
        return self


class ObjectStorageConfig(_Section):
    """Uploads (/object/* routes, openim.objects)."""

    backend: Literal["local", "s3"] = "local"
    # local: where files go; empty = <data_dir>/objects.
    local_dir: str = ""
    # Base of the URLs handed to clients (".../object/<name>"); empty = from the request's Host
    # (or its X-Request-Api header, as OpenIM does).
    public_url: str = ""
    # Largest file accepted, and the content types accepted ("image/*" style patterns; empty = any).
    max_file_size: ByteSize = 1024**3
    content_types: tuple[str, ...] = ()
    # An upload not completed within this is dropped; links from access_url (and S3 redirects) last this long.
    upload_expire: Duration = Field(default=86400.0, gt=0)
    url_expire: Duration = Field(default=7 * 86400.0, gt=0)
    # s3: any S3-compatible store (AWS, MinIO, Ceph, ...), requests signed with SigV4.
    s3_endpoint: str = ""  # e.g. https://s3.eu-west-1.amazonaws.com or http://minio:9000
    s3_public_endpoint: str = ""  # what clients use when it differs from s3_endpoint; empty = the same
    s3_region: str = "us-east-1"
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_path_style: bool = True  # https://host/bucket/key (MinIO); false: https://bucket.host/key
    s3_key_prefix: str = "openim/"

    @model_validator(mode="after")
    def _backend(self) -> ObjectStorageConfig:
        if self.backend == "s3":
            needed = ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key")
            missing = [n for n in needed if not getattr(self, n)]
            if missing:
                raise ValueError(f"backend s3 needs {', '.join(missing)}")
        for url in (self.public_url, self.s3_endpoint, self.s3_public_endpoint):
            if url and not url.startswith(("http://", "https://")):
                raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
        return self


class Config(_Section):
    secret: str = EXAMPLE_SECRET
    data_dir: str = "./data"
    node_id: str = ""  # default: <hostname>-<8 hex>, stable per data_dir (openim.node)
    shutdown_timeout: Duration = 10.0
    api: ApiConfig = ApiConfig()
    gateway: GatewayConfig = GatewayConfig()
    storage: StorageConfig = StorageConfig()
    bus: BusConfig = BusConfig()
    auth: AuthConfig = AuthConfig()
    messaging: MessagingConfig = MessagingConfig()
    field_limits: FieldLimitsConfig = FieldLimitsConfig()
    log: LogConfig = LogConfig()
    security: SecurityConfig = SecurityConfig()
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


def masked_dict(config: Config) -> dict[str, Any]:
    """The effective config as plain data with secrets masked (for `openim config print` and /admin)."""
    data = config.model_dump(mode="json")
    data["secret"] = "****" if config.secret else ""
    dsn = data["storage"]["postgres_dsn"]
    data["storage"]["postgres_dsn"] = re.sub(r"(//[^:/@]+:)[^@]+@", r"\1****@", dsn)
    data["object_storage"]["s3_secret_key"] = "****" if config.object_storage.s3_secret_key else ""
    for section, key in (("webhooks", "headers"), ("offline_push", "http_headers")):  # may hold credentials
        data[section][key] = {name: "****" for name in data[section][key]}
    data["bus"]["redis_url"] = re.sub(r"(//[^:/@]*:)[^@]+@", r"\1****@", data["bus"]["redis_url"])
    return data


def new_secret() -> str:
    return secrets.token_urlsafe(32)
