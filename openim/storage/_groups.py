"""SqlStore's group methods (a mixin over SqlStore._read/_write)."""

from __future__ import annotations


class GroupQueries:
    """Implements openim.storage.port_groups.GroupStore for SqlStore."""
