"""The durable queue of after-callbacks (openim.hook_queue, openim.webhooks.dispatcher), on the shared
metadata. The rules of openim.storage.schema apply.

One row per callback until it is delivered (then deleted); a callback whose attempts ran out stays as a
dead letter (``dead = 1``) with its last error, until an operator requeues it.
"""

from __future__ import annotations

import sqlalchemy as sa

from openim.storage.schema.columns import _int, _key, _ms, _text, metadata

webhook_queue = sa.Table(
    "webhook_queue",
    metadata,
    _key("entry_id"),  # time-ordered, made by the dispatcher
    _text("hook"),
    _text("operation_id"),
    _text("body"),  # the JSON text posted, as accepted
    _int("attempts"),
    _text("last_error"),
    _ms("created_at"),
    _ms("due_at"),  # not taken before (retries wait here)
    _ms("lease_until"),  # taken by lease_owner until then
    _text("lease_owner"),
    _int("dead"),
    # What is due, oldest first: the take.
    sa.Index(None, "dead", "due_at"),
)
