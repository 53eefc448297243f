"""SqlStore's command-list methods (a mixin over SqlBase): each runs one body of
openim.storage.commands.queries on a reader or the writer."""

from __future__ import annotations

from openim.storage.commands import queries as q
from openim.storage.sql.base import SqlBase, reads, writes


class SqlCommandStore(SqlBase):
    """Implements openim.storage.commands.port.CommandStore for SqlStore."""

    add_user_command = writes(q.add_user_command)
    update_user_command = writes(q.update_user_command)
    delete_user_command = writes(q.delete_user_command)
    get_user_commands = reads(q.get_user_commands)
