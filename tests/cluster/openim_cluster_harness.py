"""What the cluster tests drive: real ``openim serve`` processes on PostgreSQL + Redis, private Redis and
PostgreSQL servers for the destructive tests, and a small WebSocket load client with idempotent retries.

Processes started here are stopped here, by pid, and nothing else is touched: the shared PostgreSQL
gets a database of our own (dropped afterwards), the shared Redis a random key prefix (its keys deleted
afterwards, never a flush). Restarts and FLUSHALL only ever hit the private servers of this module.

The load client speaks the protocol as the JS SDK does (openim.wire.envelope) and keeps the SDK's
promise the invariants rely on: a message not acknowledged (error reply, timeout, dropped connection)
is sent again with the SAME clientMsgID, on whichever gateway answers, until it is acknowledged. So at
the end every message a sender ever tried is acked exactly once, and history must hold each clientMsgID
exactly once with seqs 1..N per conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio
import trio_websocket

from openim.wire.constants import single_conversation_id
from openim.wire.envelope import decode_response, encode_request
from openim.wire.pb import sdkws_pb2

ROOT = Path(__file__).resolve().parents[2]
ADMIN_ID = "imAdmin"
WEB = 5
START_TIMEOUT_S = 40.0
STOP_TIMEOUT_S = 10.0
SHARED_POSTGRES_ADMIN_DSN = os.environ.get(
    "OPENIM_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SHARED_REDIS_URL = os.environ.get("OPENIM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Failover timings of the test clusters: short, so a kill is recovered in seconds, not the production
# defaults' tens of seconds. The ratios are the production ones.
FAST_CLUSTER = """\
cluster:
  node_ttl: 3s
  lease_ttl: 2s
  redeliver_after: 2s
  send_timeout: 4s
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_pid(proc: subprocess.Popen[bytes], *, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, then SIGKILL after ``timeout``: only the process we started."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


# -- private Redis ----------------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of our own on a free loopback port, nothing on disk (as the shared one)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.base), "--logfile", str(self.base / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.command("PING") == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError(f"private redis-server on port {self.port} did not answer")

    def command(self, *args: str) -> str:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall((f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)).encode())
                return s.recv(4096).decode(errors="replace").strip().lstrip("+")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None:
            _stop_pid(self.proc)
            self.proc = None

    def restart(self, down_s: float = 0.5) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


# -- private PostgreSQL ----------------------------------------------------------------------------------


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


class PostgresServer:
    """A PostgreSQL instance of our own: initdb into a temp dir, pg_ctl on a free port.

    PostgreSQL refuses to run as root; when the tests run as root the server runs as the ``postgres`` OS
    user, in a temp dir of its own under the system temp dir (pytest's are private to root) that
    :meth:`remove` deletes. Trust auth on loopback only.
    """

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="openim-cluster-pg-"))
        self.data = self.base / "pgdata"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        proc = subprocess.run(
            list(argv), user=self._user, cwd=self.base, capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            log = (self.base / "pg.log").read_text(errors="replace")[-3000:] if (self.base / "pg.log").exists() else ""
            raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr or proc.stdout}\n{log}")

    def init(self) -> None:
        initdb = _pg_bin("initdb")
        if initdb is None:
            raise RuntimeError("initdb is not installed")
        if self._user is not None:
            shutil.chown(self.base, self._user)
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(_pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.base / "pg.log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(_pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


# -- databases -------------------------------------------------------------------------------------------


async def _admin_sql(admin_dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_dsn(admin_dsn: str, name: str) -> str:
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


@contextmanager
def fresh_database(admin_dsn: str) -> Iterator[str]:
    """CREATE DATABASE with a random name; yield its DSN; drop it (with any sessions left)."""
    name = f"openim_cluster_{secrets.token_hex(6)}"
    asyncio.run(_admin_sql(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield database_dsn(admin_dsn, name)
    finally:
        asyncio.run(_admin_sql(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def drop_redis_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` (SCAN + DEL; never FLUSHALL on a shared Redis)."""
    from openim.bus.resp import RedisAddress, RespConnection

    async def run() -> None:
        conn = await RespConnection.connect(RedisAddress.from_url(url))
        try:
            cursor: Any = b"0"
            while True:
                cursor, keys = await conn.execute("SCAN", cursor, "MATCH", f"{prefix}*", "COUNT", 1000)
                if keys:
                    await conn.execute("DEL", *keys)
                if cursor in (b"0", "0", 0):
                    break
        finally:
            conn.close()

    with contextlib.suppress(Exception):  # the private Redis may be gone already; nothing to clean there
        trio.run(run)


# -- the cluster's processes ------------------------------------------------------------------------------


class RestartableServer:
    """One ``python -m openim serve`` on a config of its own, started again on the same config and data
    (tests of restarts and crashes); signalled and stopped by its own pid only. ``settings`` are YAML lines
    added to the common ones (secret, data_dir, loopback listeners, JSON logs)."""

    READY_LIMIT_S = 40.0

    def __init__(self, base: Path, settings: str, *, name: str = "restart", secret: str = "") -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.name = name
        self.secret = secret or f"{name}-secret-{secrets.token_hex(12)}"
        self.api_port = free_port()
        self.config = base / "config.yaml"
        self.config.write_text(
            f'secret: "{self.secret}"\n'
            f'data_dir: "{base / "data"}"\n'
            f"api: {{host: 127.0.0.1, port: {self.api_port}}}\n"
            f"gateway: {{host: 127.0.0.1, port: {free_port()}}}\n"
            f"ops: {{host: 127.0.0.1, port: {free_port()}}}\n"
            "log: {format: json}\n" + settings,
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        """Start (again) and wait until /readyz answers; its output goes to server-<n>.log."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.starts += 1
        with (self.base / f"server-{self.starts}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "openim", "serve", "-c", str(self.config)],
                cwd=self.base, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + self.READY_LIMIT_S
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the server exited:\n{self.log()}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"not ready after {self.READY_LIMIT_S:g}s:\n{self.log()}")

    def stop(self, signum: int) -> int:
        """Signal the process this test started; its exit code."""
        assert self.proc is not None
        self.proc.send_signal(signum)
        return self.proc.wait(30)

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def log(self) -> str:
        return (self.base / f"server-{self.starts}.log").read_text(errors="replace")[-6000:]

    def call(self, path: str, body: Any, *, token: str = "", operation_id: str = "", timeout: float = 30) -> Any:
        """POST and return ``data`` of a successful envelope (fails the test otherwise)."""
        headers = {"operationID": operation_id or f"t-{self.name}-{time.time_ns()}", "token": token}
        answer = httpx.post(self.url + path, json=body, headers=headers, timeout=timeout).json()
        assert answer["errCode"] == 0, (path, answer)
        return answer.get("data")

    def admin(self) -> str:
        return str(self.call("/auth/get_admin_token", {"secret": self.secret, "userID": "imAdmin"})["token"])


@dataclass
class Node:
    name: str
    modules: str
    api_port: int
    ws_port: int
    ops_port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def runs(self, module: str) -> bool:
        names = self.modules.split(",")
        return names == ["all"] or module in names

    @property
    def has_api(self) -> bool:
        return self.runs("api")

    @property
    def has_gateway(self) -> bool:
        return self.runs("gateway")

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def probe_url(self) -> str:
        port = self.api_port if self.has_api else self.ops_port
        return f"http://127.0.0.1:{port}/readyz"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return "(no log)"
        return f"--- {self.name} ({self.modules}) ---\n" + "\n".join(text)


class Cluster:
    """Several ``python -m openim serve --module ...`` processes sharing one config (PostgreSQL + Redis).

    Each process gets its node id and ports from the environment (OPENIM_NODE_ID, OPENIM_API__PORT, ...),
    which is how an operator runs several processes from one config file on a host.
    """

    def __init__(self, base: Path, *, dsn: str, redis_url: str, extra_config: str = "", embedded: bool = False) -> None:
        """``embedded``: SQLite and the in-process bus (one process only) instead of PostgreSQL + Redis."""
        self.base = base
        self.secret = f"cluster-secret-{secrets.token_hex(12)}"
        self.key_prefix = f"openim-cluster-{secrets.token_hex(5)}:"
        self.redis_url = redis_url
        self.dsn = dsn
        self.config_path = base / "config.yaml"
        self.config_path.write_text(
            f'secret: "{self.secret}"\n'
            f'data_dir: "{base / "data"}"\n'
            "shutdown_timeout: 5s\n"
            "api: {host: 127.0.0.1}\n"
            "gateway: {host: 127.0.0.1, presence_ttl: 3s}\n"
            "ops: {host: 127.0.0.1}\n"
            + (
                ""
                if embedded
                else f'storage: {{backend: postgres, postgres_dsn: "{dsn}", pool_size: 4}}\n'
                f'bus: {{backend: redis, redis_url: "{redis_url}", key_prefix: "{self.key_prefix}"}}\n'
            )
            + "log: {format: json}\n"
            + FAST_CLUSTER
            + extra_config,
            encoding="utf-8",
        )
        self.nodes: dict[str, Node] = {}
        self._admin_token = ""

    # -- processes ---------------------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENIM_")}
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra)
        return env

    def add(self, name: str, modules: str) -> Node:
        node = Node(name, modules, free_port(), free_port(), free_port(), self.base / f"{name}.log")
        self.nodes[name] = node
        return node

    def launch(self, node: Node) -> None:
        env = self.env(
            OPENIM_NODE_ID=node.name,
            OPENIM_API__PORT=str(node.api_port),
            OPENIM_GATEWAY__PORT=str(node.ws_port),
            OPENIM_OPS__PORT=str(node.ops_port),
        )
        with node.log_path.open("ab") as log:
            node.proc = subprocess.Popen(
                [sys.executable, "-m", "openim", "serve", "-c", str(self.config_path), "--module", node.modules],
                cwd=self.base, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def start(self, *names: str) -> None:
        """Launch the named nodes together and wait until each answers /readyz."""
        nodes = [self.nodes[n] for n in names]
        for node in nodes:
            self.launch(node)
        for node in nodes:
            self.wait_ready(node)

    def wait_ready(self, node: Node, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.proc is None or node.proc.poll() is not None:
                raise RuntimeError(f"node {node.name} exited:\n{node.log_tail()}")
            try:
                if httpx.get(node.probe_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node {node.name} not ready after {timeout}s:\n{node.log_tail()}")

    def kill9(self, name: str) -> None:
        node = self.nodes[name]
        assert node.proc is not None
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(STOP_TIMEOUT_S)

    def stop(self, name: str) -> None:
        node = self.nodes[name]
        if node.proc is not None:
            _stop_pid(node.proc)

    def close(self) -> None:
        for node in self.nodes.values():
            if node.proc is not None:
                _stop_pid(node.proc)

    def logs(self) -> str:
        return "\n".join(n.log_tail() for n in self.nodes.values())

    # -- `openim cluster status` ---------------------------------------------------------------------------
    def status(self) -> tuple[int, dict[str, Any]]:
        proc = subprocess.run(
            [sys.executable, "-m", "openim", "cluster", "status", "-c", str(self.config_path), "--json"],
            cwd=self.base, env=self.env(), capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise RuntimeError(f"cluster status exited {proc.returncode}: {proc.stderr}")
        return proc.returncode, json.loads(proc.stdout)

    def owners(self, queue: str = "transfer") -> list[str]:
        return list(self.status()[1]["owners"][queue])

    # -- REST ------------------------------------------------------------------------------------------------
    def api(self) -> str:
        for node in self.nodes.values():
            if node.has_api and node.alive:
                return node.api_url
        raise RuntimeError("no live api node")

    def call(self, path: str, body: Any, *, token: str | None = None, api: str | None = None) -> Any:
        headers = {"operationID": f"ct-{time.time_ns()}"}
        if token is not None:
            headers["token"] = token
        resp = httpx.post((api or self.api()) + path, json=body, headers=headers, timeout=15)
        assert resp.status_code == 200, resp.text
        env = resp.json()
        assert env["errCode"] == 0, f"{path}: {env}"
        return env.get("data")

    def admin_token(self) -> str:
        if not self._admin_token:
            data = self.call("/auth/get_admin_token", {"secret": self.secret, "userID": ADMIN_ID})
            self._admin_token = str(data["token"])
        return self._admin_token

    def register(self, user_ids: Sequence[str]) -> dict[str, str]:
        """Register users; return a token per user (Web platform)."""
        admin = self.admin_token()
        self.call("/user/user_register",
                  {"users": [{"userID": u, "nickname": u, "faceURL": ""} for u in user_ids]}, token=admin)  # fmt: skip
        return {
            u: str(self.call("/auth/get_user_token", {"userID": u, "platformID": WEB}, token=admin)["token"])
            for u in user_ids
        }

    def history(self, user_id: str, token: str, conversation_id: str) -> list[dict[str, Any]]:
        """Every stored message of a conversation as ``user_id`` sees it, in seq order (REST pull)."""
        out: list[dict[str, Any]] = []
        begin = 1
        while True:
            data = self.call(
                "/msg/pull_msg_by_seq",
                {"userID": user_id, "order": 0,
                 "seqRanges": [{"conversationID": conversation_id, "begin": begin, "end": begin + 999, "num": 1000}]},
                token=token,
            )  # fmt: skip
            entry = (data.get("msgs") or {}).get(conversation_id)
            page = list(entry["Msgs"]) if entry else []
            if not page:
                return out
            out.extend(page)
            begin = int(page[-1]["seq"]) + 1


# -- the WebSocket load client ---------------------------------------------------------------------------


class Disconnected(Exception):
    """The connection is gone (the node died, or closed it)."""


def text_msg(send_id: str, recv_id: str, client_msg_id: str, text: str) -> bytes:
    return sdkws_pb2.MsgData(
        sendID=send_id, recvID=recv_id, clientMsgID=client_msg_id, senderPlatformID=WEB, sessionType=1,
        msgFrom=100, contentType=101, content=json.dumps({"content": text}).encode(),
        createTime=int(time.time() * 1000), status=1,
    ).SerializeToString()  # fmt: skip


class WsClient:
    """One logged-in connection: sends one request at a time, collects the pushes it sees meanwhile."""

    def __init__(self, ws: trio_websocket.WebSocketConnection, user_id: str, url: str) -> None:
        self.ws = ws
        self.user_id = user_id
        self.url = url
        self.pushed: list[sdkws_pb2.MsgData] = []
        self._n = 0

    @classmethod
    async def open(cls, nursery: trio.Nursery, ws_url: str, user_id: str, token: str) -> WsClient:
        url = (f"{ws_url}?sendID={user_id}&token={token}&platformID={WEB}&operationID=op{time.time_ns()}"
               "&isBackground=false&isMsgResp=true&sdkType=js")  # fmt: skip
        try:
            with trio.fail_after(5):
                ws = await trio_websocket.connect_websocket_url(nursery, url)
                first = await ws.get_message()
        except (OSError, trio.TooSlowError, trio_websocket.HandshakeError, trio_websocket.ConnectionClosed) as exc:
            raise Disconnected(f"{ws_url}: {exc!r}") from exc
        if first != '{"errCode":0,"errMsg":"","errDlt":""}':
            await ws.aclose()
            raise Disconnected(f"{ws_url}: handshake refused: {first!r}")
        return cls(ws, user_id, ws_url)

    async def aclose(self) -> None:
        with trio.move_on_after(1):
            await self.ws.aclose()

    def _record(self, frame: bytes | str) -> Any:
        if isinstance(frame, str):
            return None  # pong / text
        resp = decode_response(frame)
        if resp.msg_incr == "" and resp.req_identifier == 2001 and resp.data:
            push = sdkws_pb2.PushMessages.FromString(resp.data)
            for pulled in push.msgs.values():
                self.pushed.extend(pulled.Msgs)
            return None
        return resp

    async def request(self, req_id: int, data: bytes, timeout: float) -> Any:
        self._n += 1
        incr = f"{self.user_id}-{self._n}"
        try:
            with trio.fail_after(timeout):
                await self.ws.send_message(encode_request(req_id, incr, self.user_id, f"op{time.time_ns()}", data))
                while True:
                    resp = self._record(await self.ws.get_message())
                    if resp is not None and resp.msg_incr == incr:
                        return resp
        except (trio_websocket.ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise Disconnected(repr(exc)) from exc
        except trio.TooSlowError as exc:
            raise Disconnected(f"no reply within {timeout}s") from exc

    async def send_text(self, recv_id: str, client_msg_id: str, text: str, timeout: float = 10.0) -> int:
        """The 1003 reply's errCode (0: acknowledged, i.e. committed)."""
        resp = await self.request(1003, text_msg(self.user_id, recv_id, client_msg_id, text), timeout)
        return int(resp.err_code)

    async def wait_push(self, predicate: Any, timeout: float = 10.0) -> sdkws_pb2.MsgData:
        with trio.fail_after(timeout):
            while True:
                for msg in self.pushed:
                    if predicate(msg):
                        return msg
                try:
                    self._record(await self.ws.get_message())
                except trio_websocket.ConnectionClosed as exc:
                    raise Disconnected(repr(exc)) from exc


@dataclass
class LoadResult:
    acked: dict[str, str] = field(default_factory=dict)  # clientMsgID -> conversation id
    attempts: int = 0
    reconnects: int = 0
    error_codes: Counter[int] = field(default_factory=Counter)
    connected_to: dict[str, list[str]] = field(default_factory=dict)  # user -> ws urls used, in order
    unacked: list[str] = field(default_factory=list)  # gave up (must stay empty)

    def summary(self) -> str:
        return (f"acked={len(self.acked)} attempts={self.attempts} reconnects={self.reconnects} "
                f"errors={dict(self.error_codes)} unacked={len(self.unacked)}")  # fmt: skip


async def _sender(
    nursery: trio.Nursery,
    user: str,
    peer: str,
    token: str,
    gateways: Sequence[str],
    first: int,
    stop_at: float,
    result: LoadResult,
    retry_budget_s: float,
) -> None:
    """Send to ``peer`` until ``stop_at``; every message is retried (same clientMsgID) until acked."""
    conv = single_conversation_id(user, peer)
    client: WsClient | None = None
    index = first
    n = 0
    used = result.connected_to.setdefault(user, [])
    try:
        while trio.current_time() < stop_at:
            n += 1
            cmid = f"{user}-m{n}-{secrets.token_hex(3)}"
            give_up = trio.current_time() + retry_budget_s
            while True:
                if trio.current_time() > give_up:
                    result.unacked.append(cmid)
                    return
                if client is None:
                    try:
                        client = await WsClient.open(nursery, gateways[index], user, token)
                        used.append(gateways[index])
                    except Disconnected:
                        index = (index + 1) % len(gateways)  # that gateway is down: try the next one
                        await trio.sleep(0.2)
                        continue
                result.attempts += 1
                try:
                    code = await client.send_text(peer, cmid, f"load {n} from {user}")
                except Disconnected:
                    result.reconnects += 1
                    await client.aclose()
                    client = None
                    continue
                if code == 0:
                    result.acked[cmid] = conv
                    break
                result.error_codes[code] += 1
                await trio.sleep(0.2)
    finally:
        if client is not None:
            await client.aclose()


async def run_load(
    pairs: Sequence[tuple[str, str]],
    tokens: dict[str, str],
    gateways_of: dict[str, Sequence[str]],
    *,
    duration_s: float,
    during: Any = None,
    retry_budget_s: float = 60.0,
) -> LoadResult:
    """Both users of each pair send to each other for ``duration_s``; ``during(elapsed_cb)`` runs alongside
    (in a worker thread: it kills processes, restarts servers). Returns once every sender's last message
    is acked (or its retry budget ran out)."""
    result = LoadResult()
    stop_at = trio.current_time() + duration_s
    async with trio.open_nursery() as conns:  # the websocket connections live here
        async with trio.open_nursery() as senders:
            for a, b in pairs:
                for user, peer in ((a, b), (b, a)):
                    senders.start_soon(
                        _sender, conns, user, peer, tokens[user], gateways_of[user], 0, stop_at, result, retry_budget_s
                    )
            if during is not None:
                await trio.to_thread.run_sync(during)
        conns.cancel_scope.cancel()
    return result


def check_history(
    cluster: Cluster, pairs: Sequence[tuple[str, str]], tokens: dict[str, str], result: LoadResult
) -> int:
    """Every acked clientMsgID stored exactly once, nothing else stored, seqs 1..N per conversation.
    Returns the number of messages checked."""
    assert not result.unacked, f"senders gave up on {len(result.unacked)} messages: {result.summary()}"
    by_conv: dict[str, set[str]] = {}
    for cmid, conv in result.acked.items():
        by_conv.setdefault(conv, set()).add(cmid)
    total = 0
    for a, b in pairs:
        conv = single_conversation_id(a, b)
        stored = cluster.history(a, tokens[a], conv)
        seqs = [int(m["seq"]) for m in stored]
        assert seqs == list(range(1, len(seqs) + 1)), f"{conv}: seqs not gapless 1..N: {seqs[:20]}..."
        ids = Counter(str(m["clientMsgID"]) for m in stored)
        dupes = [c for c, k in ids.items() if k > 1]
        assert not dupes, f"{conv}: stored more than once: {dupes[:10]}"
        expected = by_conv.get(conv, set())
        lost = expected - set(ids)
        assert not lost, f"{conv}: {len(lost)} acked messages missing from history: {sorted(lost)[:10]}"
        stray = set(ids) - expected
        assert not stray, f"{conv}: stored but never acked to the sender: {sorted(stray)[:10]}"
        total += len(stored)
    return total
