"""SqlStore's friends/blacklist methods (a mixin over SqlStore._read/_write)."""

from __future__ import annotations


class RelationQueries:
    """Implements openim.storage.port_relations.RelationStore for SqlStore."""
