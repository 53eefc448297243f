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
# Paths (data_dir, sqlite_path, log_dir, programs_dir, the push key files, local_dir): a relative one is
# taken from the folder of this file, whatever the current directory; one set from the environment
# (OPENIM_DATA_DIR=./data), or with no config file at all, from the current directory.

# Signs every token (HS256) and is the admin secret of /auth/get_admin_token. Keep it private.
# Cluster mode refuses to start with the example value "openIM123"; with it, the embedded mode listens
# on 127.0.0.1 only (a host of 0.0.0.0 or :: below becomes 127.0.0.1) and warns. `openim init` writes
# a config with a random secret.
secret: "{secret}"

# Where the embedded store (SQLite) and local files live (relative: to this file's folder).
data_dir: "{data_dir}"

# Name of this process in the cluster registry; empty = <hostname>-<8 hex>, the same at every start
# (from data_dir/instance-id, the modules and the ports). Set it per process for readable dashboards.
node_id: ""

# How long SIGTERM may take: stop accepting, drain in-flight work, close stores.
shutdown_timeout: 10s

api:
  # REST API (OpenIM v3 routes), /healthz, /readyz, /metrics. 0.0.0.0: every interface (127.0.0.1
  # while the secret is the example value).
  host: 0.0.0.0
  port: 10002
  # Largest request body accepted.
  max_body_size: 8MiB
  # Open connections on this listener and from one client address (0 = no limit); past either a
  # connection is answered 1601 ConnOverMaxNumLimit and closed before anything is read.
  max_connections: 10000
  max_connections_per_ip: 1000
  # A connection must send a whole request head within header_timeout (of opening, or of its last
  # answer), and the whole body within body_timeout of the head; else it is answered 1001 and closed.
  header_timeout: 30s
  body_timeout: 60s
  # Serve GET /openapi.json (to an app admin's token only): every route as an OpenAPI 3 document,
  # generated from the routes' protobuf request types; what the REST fuzzer reads.
  openapi: false

gateway:
  # WebSocket message gateway the SDKs connect to.
  host: 0.0.0.0
  port: 10001
  # Largest inbound frame; bigger frames close the connection (OpenIM uses 51200).
  max_frame_size: 51200
  # Connections refused past this (1601 ConnOverMaxNumLimit).
  max_connections: 100000
  # Connections from one client address (handshakes included), handshakes in progress in all and
  # from one address (0 = no limit); past them a socket is answered 1601 and closed at once.
  max_connections_per_ip: 1000
  max_handshakes: 2000
  max_handshakes_per_ip: 100
  # Time allowed for the HTTP upgrade.
  handshake_timeout: 10s
  # A connection that sends nothing (not even a ping) for this long is closed.
  idle_timeout: 30s
  # Presence entries expire after this unless the gateway holding them refreshes them.
  presence_ttl: 60s
  # WebSocket driver: wsproto (fast: a connection's queued frames leave in one write) or trio-websocket.
  transport: wsproto

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
  # How often expired tokens, and kicked ones older than kicked_token_retention, are deleted (0: never).
  # Until then a kicked token is answered 1506 TokenKicked, afterwards 1507 TokenNotExist.
  token_purge_interval: 1h
  kicked_token_retention: 1d

messaging:
  # true: one-to-one messages only between friends (refused with 1303 otherwise).
  friend_verify: false
  # Transfer partitions (by conversation); one owner each.
  transfer_partitions: 8
  # Most messages committed in one transaction.
  batch_max: 1000
  # Push a sender's own message to his other devices.
  sender_sync: true

field_limits:
  # Longest text, in characters, a client may store in each field: registration and every update
  # use the same limit; longer is refused with errCode 1001 (ArgsError) naming the field in errDlt.
  nickname: 255         # users, group members
  face_url: 2048        # users, groups, group members
  ex: 4096              # users, friends, blacklist, groups, members, requests, conversations
  remark: 255           # friends
  req_msg: 1024         # friend and group requests
  handle_msg: 1024      # the answers to them
  group_name: 255
  notification: 4096    # group notice
  introduction: 4096    # group introduction
  attached_info: 4096   # conversations
  device_token: 1024    # offline-push tokens (/third/fcm_update_token)
  command_value: 4096   # the value of an entry of a user's command list (/user/process_user_command_*)

log:
  # debug, info, warning, error
  level: info
  # json (one event per line), human, or auto (human on a terminal, else json).
  format: auto
  # The same error (event and cause) again within this window is counted, not written; the next line
  # written carries "suppressed": n. 0 = write every one.
  repeat_window: 10s

security:
  # Limits against floods and guessing; refusals are counted in openim_limit_refusals_total and shown
  # in /admin. A rate of 0 turns that limit off.
  # Messages per second one user may send (WebSocket 1003, /msg/send_msg) and the burst saved up for;
  # app admins are not limited. Past it a send is refused with 1002 "rate limited".
  send_rate: 200
  send_burst: 2000
  # Logins per user (WebSocket handshakes, /auth/get_user_token, the demo sign-in) and WebSocket
  # handshakes per client address: per second and burst.
  login_rate_user: 1
  login_burst_user: 30
  login_rate_ip: 20
  login_burst_ip: 500
  # Wrong admin secrets (/auth/get_admin_token, the console sign-in) one address may try before it is
  # blocked for admin_secret_backoff, doubled by each further failure up to admin_secret_backoff_max.
  admin_secret_attempts: 5
  admin_secret_backoff: 1s
  admin_secret_backoff_max: 5m
  # Users and addresses remembered per limit; past it the idle ones are forgotten first.
  max_tracked_keys: 100000
  # Addresses the per-address limits (connections, handshakes, logins) do not apply to: a reverse proxy
  # or a load generator on this host (behind a proxy every client has its address). Wrong admin
  # secrets are counted for every address.
  exempt_ips: ["127.0.0.1", "::1"]

ops:
  # /healthz, /readyz and /metrics listener for processes that do not run the api module
  # (with the api module they are served on the API port).
  host: 0.0.0.0
  port: 10090
  # Grafana dashboard (over /metrics) that GET /third/prometheus redirects to, as OpenIM's admin panel
  # expects; empty: that route answers 404 (errCode 1004). Anyone who can reach the API can read it.
  grafana_url: ""

cluster:
  # Used when storage is postgres and bus is redis: any modules, any number of processes and hosts.
  # Redis carries everything between processes in every mode; discovery says where the member list
  # comes from, which `openim cluster status` checks the live registry against:
  #   redis       the registry itself (every process heartbeats into Redis)
  #   static      the nodes listed in static_nodes; a process whose node_id is not listed refuses to start
  #   kubernetes  the headless Services in kubernetes_services (one DNS A record per pod)
  discovery: redis
  # static: node id -> {{module: "host:port"}}; "" for modules without a listener (transfer, push),
  # "ops" for the ops listener of a process without the api module. Example:
  #   static_nodes:
  #     gw-1: {{gateway: "10.0.0.11:10001", api: "10.0.0.11:10002"}}
  #     mq-1: {{transfer: "", push: "", ops: "10.0.0.21:10090"}}
  static_nodes: {{}}
  # kubernetes: module -> "service:port", e.g. {{gateway: "openim-gateway.openim.svc.cluster.local:10001"}}.
  kubernetes_services: {{}}
  # Host part of the addresses this process registers when its listeners bind 0.0.0.0 or ::;
  # empty = this host's address as its hostname resolves (a pod's IP in Kubernetes).
  advertise_host: ""
  # Registry heartbeat: every third of node_ttl; a node silent for node_ttl is dead.
  node_ttl: 15s
  # Transfer/push partition leases: renewed every third; a dead owner's partitions move after lease_ttl.
  lease_ttl: 10s
  # Queue items a dead consumer had taken are redelivered to the new owner after this long.
  redeliver_after: 20s
  # A send not committed within this is answered with an error; the client's retry (same clientMsgID)
  # is deduplicated.
  send_timeout: 15s

supervise:
  # What `openim supervise` runs under its bundled supervisord: the openim program with this module set
  # ("all" or a comma list), this many processes of it, plus the Filebeat and Metricbeat sidecars where
  # they are installed. Anything but one process of all modules needs cluster mode (postgres + redis).
  modules: all
  processes: 1
  # Process n (0-based) of several listens on api.port, gateway.port and ops.port + n * port_step.
  port_step: 10
  # Logs of supervisord and its programs (openim.log is the JSON event log Filebeat ships);
  # empty = <data_dir>/logs.
  log_dir: ""
  # Directory of supervisord program files (*.conf); empty = the supervisor.d bundled with openim.
  programs_dir: ""

webhooks:
  # Base URL of your callback receiver (OpenIM's webhooks); empty = no callbacks.
  # Each call is POST <url>/<callbackCommand> (docs/operations.md, "Webhooks").
  url: ""
  # Callbacks to fire, by OpenIM's names (beforeSendSingleMsg, afterUserOnline, ...); ["*"] = all.
  enable: []
  # How long a before-callback may take (also per attempt of an after-callback).
  timeout: 5s
  # A failing before-callback: true lets the operation go on, false refuses it (90004/90007, as OpenIM).
  fail_open: false
  # Message callbacks skip these content types; after-single callbacks only for these recipients.
  denied_content_types: []
  attention_ids: []
  # Extra headers on every callback, e.g. {{Authorization: "Bearer ..."}}.
  headers: {{}}
  # After-callbacks: a durable queue (the store; Redis in a cluster), workers, attempts, exponential
  # backoff, then a dead letter. after_queue_size: callbacks waiting in memory for their durable write
  # (milliseconds normally); after_queue_limit: callbacks in the durable queue. Beyond either, new
  # callbacks are refused and logged (webhook.dropped).
  after_queue_size: 10000
  after_queue_limit: 1000000
  after_workers: 2
  after_attempts: 5
  after_backoff: 1s
  after_backoff_max: 1m

offline_push:
  # Push to devices that are not connected: none, fcm, apns or http, one provider for every device.
  # A misconfigured provider stops the start with the reason (docs/operations.md, "Offline push").
  provider: none
  # Or several at once, each device pushed by its platform's provider (instead of provider), e.g.
  # [fcm, apns]: IOS and IPad go to apns, Android and APad to fcm unless platform_providers says
  # otherwise (platform name or number -> one of providers, or none), e.g. {{HarmonyOS: http}}.
  providers: []
  platform_providers: {{}}
  concurrency: 16
  batch_size: 500
  timeout: 10s
  # Used when a message carries no offlinePushInfo.
  default_title: "You have a new message."
  default_desc: ""
  # fcm: the Firebase service-account JSON key.
  fcm_credentials_file: ""
  fcm_endpoint: https://fcm.googleapis.com
  # apns: the .p8 signing key, its key id, the team id and the app's bundle id.
  apns_key_file: ""
  apns_key_id: ""
  apns_team_id: ""
  apns_topic: ""
  apns_sandbox: false
  apns_endpoint: ""
  # http: your own push gateway (one JSON POST per batch).
  http_url: ""
  http_headers: {{}}

object_storage:
  # Where uploads go: local (under data_dir) or s3 (any S3-compatible store; docs/operations.md,
  # "File storage").
  backend: local
  # local: directory of the files; empty = <data_dir>/objects.
  local_dir: ""
  # Base of the URLs put into messages; empty = the request's X-Request-Api header, else its Host.
  public_url: ""
  # Largest upload, and accepted content types ("image/*" patterns; empty = any).
  max_file_size: 1GiB
  content_types: []
  # Unfinished uploads are removed after upload_expire; read links last url_expire.
  upload_expire: 1d
  url_expire: 7d
  # s3: endpoint openim calls, endpoint clients call (empty = the same), region, bucket, keys.
  s3_endpoint: ""
  s3_public_endpoint: ""
  s3_region: us-east-1
  s3_bucket: ""
  s3_access_key: ""
  s3_secret_key: ""
  # true: https://host/bucket/key (MinIO); false: https://bucket.host/key.
  s3_path_style: true
  s3_key_prefix: openim/
"""


def render_config(*, secret: str = EXAMPLE_SECRET, data_dir: str = "./data") -> str:
    return _TEMPLATE.format(secret=secret, data_dir=data_dir)
