"""SqlStore's report methods (a mixin over SqlBase): each runs one body of openim.storage.reports.queries
on a reader."""

from __future__ import annotations

from openim.storage.reports import queries as q
from openim.storage.sql.base import SqlBase, reads


class SqlReportStore(SqlBase):
    """Implements openim.storage.reports.port.ReportStore for SqlStore."""

    search_messages = reads(q.search_messages)
    creation_counts = reads(q.creation_counts)
    message_activity = reads(q.message_activity)
