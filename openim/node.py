"""What one process holds: its config, identity, ports (Store, Bus), metrics and domain services.

Modules receive the Node and take what they need; nothing reaches for globals.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from openim.bus.port import Bus
from openim.config import Config
from openim.ops.metrics import Metrics
from openim.security.guards import Guards
from openim.storage.port import Store

# A random token written once under data_dir (like /etc/machine-id): what makes the default node id the same
# from one start to the next, and different from a process of the same host name elsewhere.
INSTANCE_FILE = "instance-id"


def default_node_id(config: Config, modules: tuple[str, ...]) -> str:
    """``<hostname>-<8 hex>``, the same at every start of this process: the hex is a digest of the data
    dir's instance token, the modules and the three ports. A restarted process so takes up what its
    previous incarnation held in a cluster (partition leases, its registry entry) at once, instead of
    waiting for them to expire; processes beside it on the same data dir (other modules, other ports)
    get ids of their own. Falls back to ``<hostname>-<pid>`` (new per start) when the token can be
    neither read nor written."""
    host = socket.gethostname() or "openim"
    token = instance_token(config.data_path)
    if not token:
        return f"{host}-{os.getpid()}"
    slot = f"{token}|{','.join(modules)}|{config.api.port}|{config.gateway.port}|{config.ops.port}"
    return f"{host}-{hashlib.sha256(slot.encode()).hexdigest()[:8]}"


def instance_token(data_dir: Path) -> str:
    """The token in ``data_dir/instance-id``, written on first use; '' when it cannot be had."""
    path = data_dir / INSTANCE_FILE
    try:
        token = path.read_text(encoding="ascii").strip()
        if token:
            return token
    except (OSError, UnicodeDecodeError):
        pass
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place: of two processes starting together on a new data dir, the
        # second link fails and that process reads the first one's token.
        tmp = data_dir / f".{INSTANCE_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        tmp.write_text(secrets.token_hex(16) + "\n", encoding="ascii")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


@dataclass
class Node:
    config: Config
    node_id: str
    modules: tuple[str, ...]
    store: Store
    bus: Bus
    metrics: Metrics
    addresses: dict[str, str] = field(default_factory=dict)
    connections: int = 0  # live gateway connections in this process (kept by the gateway)
    # What the config review warned of at start (openim.config_review.review_config), shown in /admin.
    config_warnings: tuple[str, ...] = ()
    guards: Guards = field(init=False)  # the abuse limits (rates, throttles) of this process

    def __post_init__(self) -> None:
        self.guards = Guards(self.config, self.metrics)
