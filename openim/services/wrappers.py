"""Requests whose optional fields are protobuf wrappers (StringValue, Int32Value, BoolValue): a wrapper
that is present sets its field, an absent one leaves it unchanged, which is what a storage patch says with
None (openim.storage.messages.records.Patch). :func:`wrapped_patch` turns such a request into its patch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from google.protobuf.message import Message

from openim.storage.messages.records import Patch

P = TypeVar("P", bound=Patch)


def wrapped_patch(patch_type: type[P], req: Message, fields: Mapping[str, str]) -> P:
    """The ``patch_type`` that ``req`` asks for: ``fields`` maps each wrapper field's wire name to the
    patch attribute it sets; the present ones set theirs to the wrapper's value, the rest stay None."""
    return patch_type(**{attr: getattr(req, name).value for name, attr in fields.items() if req.HasField(name)})
