"""The content-type rule of the send path: notification types only from the server or an app admin."""

from __future__ import annotations

import pytest

from openim.pipeline.send_content import check_content_type
from openim.wire.constants import ContentType
from openim.wire.errors import ErrCode, OpenIMError


@pytest.mark.parametrize("content_type", [1000, ContentType.GROUP_DISMISSED, ContentType.HAS_READ_RECEIPT, 5000])
def test_users_are_refused_notification_types(content_type: int) -> None:
    with pytest.raises(OpenIMError) as caught:
        check_content_type(content_type, is_admin=False, system=False)
    assert caught.value.code == ErrCode.NO_PERMISSION


@pytest.mark.parametrize("who", [{"is_admin": True, "system": False}, {"is_admin": False, "system": True}])
def test_server_and_admins_may_send_them(who: dict[str, bool]) -> None:
    check_content_type(ContentType.GROUP_DISMISSED, **who)


@pytest.mark.parametrize("content_type", [ContentType.TEXT, ContentType.CUSTOM, ContentType.TYPING, 999, 5001])
def test_user_content_types_pass(content_type: int) -> None:
    check_content_type(content_type, is_admin=False, system=False)
