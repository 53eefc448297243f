"""The record of the client configuration table that crosses the Store port (fields equal the columns of
openim.storage.schema.client_configs)."""

from __future__ import annotations

from dataclasses import dataclass

GLOBAL_SCOPE = ""  # the user_id of settings that apply to every user


@dataclass(frozen=True, slots=True)
class ClientConfigRecord:
    """One setting: ``user_id`` is GLOBAL_SCOPE for a default every user gets, else the user it is for."""

    user_id: str
    key: str
    value: str
