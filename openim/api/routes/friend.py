"""/friend/* routes (being built: see issue 5)."""

from __future__ import annotations

from openim.api.framework import Router
from openim.node import Node
from openim.services import Services


def register(router: Router, node: Node, services: Services) -> None:
    return None
