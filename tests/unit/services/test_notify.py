"""notify.tell: a notification after a committed change is best effort: a failed push is logged with what it
was about, never raised into the operation that caused it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from openim.ops.logging import _FIELDS_ATTR, get_log
from openim.services.notify import Notifier, tell
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError
from openim.wire.pb import sdkws_pb2

pytestmark = pytest.mark.trio

TIPS = sdkws_pb2.UserInfoUpdatedTips(userID="u1")


@dataclass
class Recording:
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail: OpenIMError | None = None

    async def notify(self, **kwargs: Any) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(kwargs)


async def test_tell_passes_the_notification_on() -> None:
    notifier = Recording()
    await tell(cast(Notifier, notifier), get_log("test"), content_type=1303, tips=TIPS, send_id="a", recv_id="u1",
               operation_id="op")
    assert notifier.sent == [dict(content_type=1303, tips=TIPS, send_id="a", recv_id="u1", operation_id="op")]


async def test_a_failed_push_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Recording(fail=OpenIMError(ErrCode.SERVER_INTERNAL, "push broke"))
    with caplog.at_level(logging.WARNING, logger="openim.test"):
        await tell(cast(Notifier, notifier), get_log("test"), content_type=ContentType.GROUP_CREATED, tips=TIPS,
                   send_id="own", group_id="g1", operation_id="op")
    [record] = [r for r in caplog.records if r.getMessage() == "notify.failed"]
    assert getattr(record, _FIELDS_ATTR) == {
        "content_type": int(ContentType.GROUP_CREATED), "send_id": "own", "recv_id": "g1",
        "code": int(ErrCode.SERVER_INTERNAL), "detail": "push broke",
    }
