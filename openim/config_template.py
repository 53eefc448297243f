"""The commented config file: config.example.yaml at the repo root is this text with the example secret
(a test keeps them identical), and `openim init` writes it with a fresh secret."""

from __future__ import annotations

from openim.config import EXAMPLE_SECRET

_TEMPLATE = """\
# openim configuration. Every key is optional; the values shown are the defaults.
# Lookup: -c PATH, else $OPENIM_CONFIG, else /data/openim/config.yaml, else ./config.yaml.
# Any key can be overridden from the environment: OPENIM_<SECTION>__<KEY>, e.g. OPENIM_API__PORT=10012,
# OPENIM_STORAGE__BACKEND=postgres; top-level keys as OPENIM_SECRET, OPENIM_DATA_DIR.
# Durations: 500ms, 30s, 5m, 2h, 90d (or seconds). Sizes: 51200, 64KiB, 4MiB.

# Signs every token (HS256) and is the admin secret of /auth/get_admin_token. Keep it private.
# Cluster mode refuses to start with the example value "openIM123".
secret: "{secret}"

# Where the embedded store (SQLite) and local files live.
data_dir: "{data_dir}"

# Name of this process in the cluster registry; empty = <hostname>-<pid>.
node_id: ""

# How long SIGTERM may take: stop accepting, drain in-flight work, close stores.
shutdown_timeout: 10s

api:
  # REST API (OpenIM v3 routes), /healthz, /readyz, /metrics.
  host: 0.0.0.0
  port: 10002
  # Largest request body accepted.
  max_body_size: 8MiB

gateway:
  # WebSocket message gateway the SDKs connect to.
  host: 0.0.0.0
  port: 10001
  # Largest inbound frame; bigger frames close the connection (OpenIM uses 51200).
  max_frame_size: 51200
  # Connections refused past this (1601 ConnOverMaxNumLimit).
  max_connections: 100000
  # Time allowed for the HTTP upgrade.
  handshake_timeout: 10s
  # A connection that sends nothing (not even a ping) for this long is closed.
  idle_timeout: 30s
  # Presence entries expire after this unless the gateway holding them refreshes them.
  presence_ttl: 60s

storage:
  # sqlite (embedded, one file under data_dir) or postgres (cluster).
  backend: sqlite
  # SQLite file; empty = <data_dir>/openim.db.
  sqlite_path: ""
  # PostgreSQL connection string used when backend is postgres.
  postgres_dsn: postgresql://127.0.0.1:5432/openim
  # PostgreSQL connections per process.
  pool_size: 10

bus:
  # memory (one process) or redis (many processes and hosts).
  backend: memory
  redis_url: redis://127.0.0.1:6379/0
  # Prefix of every Redis key, so several deployments can share one Redis.
  key_prefix: "openim:"

auth:
  # Token lifetime.
  token_expire: 90d
  # Users who are app administrators (auto-registered at start).
  admin_user_ids: [imAdmin]
  admin_nicknames: [superAdmin]
  # What a new login does to older sessions: 0 nothing, 1 same platform is kicked,
  # 4 same platform class is kicked, 5 PC unlimited and one other device.
  multi_login_policy: 1
  # Tokens kept per platform under policy 0.
  max_tokens_per_platform: 30

messaging:
  # true: one-to-one messages only between friends (refused with 1303 otherwise).
  friend_verify: false
  # Transfer partitions (by conversation); one owner each.
  transfer_partitions: 8
  # Most messages committed in one transaction.
  batch_max: 1000
  # Push a sender's own message to his other devices.
  sender_sync: true

log:
  # debug, info, warning, error
  level: info
  # json (one event per line), human, or auto (human on a terminal, else json).
  format: auto

ops:
  # /healthz, /readyz and /metrics listener for processes that do not run the api module
  # (with the api module they are served on the API port).
  host: 0.0.0.0
  port: 10090

cluster:
  # How processes find each other: redis (the node registry in Redis), static, or kubernetes.
  discovery: redis

supervise:
  # What `openim supervise` runs: the module set of the openim program and how many processes.
  modules: all
  processes: 1

webhooks:
  # Base URL of your callback receiver (OpenIM's webhooks); empty = no callbacks.
  url: ""

offline_push:
  # Push to devices that are not connected: none, fcm, apns or http.
  provider: none

object_storage:
  # Where uploads go: local (under data_dir) or s3 (any S3-compatible store).
  backend: local
"""


def render_config(*, secret: str = EXAMPLE_SECRET, data_dir: str = "./data") -> str:
    return _TEMPLATE.format(secret=secret, data_dir=data_dir)
