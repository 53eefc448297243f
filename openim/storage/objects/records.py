"""Records of the upload, device-push and client-log tables that cross the Store port.

Like openim.storage.messages.records: frozen dataclasses of plain values whose field names equal the
columns of openim.storage.schema.objects, so the queries convert them with an attribute walk. Times are
Unix ms.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    """A name a client uploaded (``<userID>/<file>``) and the stored blob behind it.

    Several names may share one blob: uploads are deduplicated by content hash, as OpenIM does.
    """

    name: str
    user_id: str
    hash: str  # the SDK's hash: md5 hex of the comma-joined md5 hex of each part
    key: str  # where the backend keeps the bytes (a path under the data dir, or an S3 key)
    size: int
    content_type: str = ""
    cause: str = ""  # OpenIM's "cause"/"group": what the upload is for
    create_time: int = 0


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """An upload that was initiated and not completed yet; gone after completion or expiry.

    A browser form upload (/object/initiate_form_data) has no parts (``part_count`` 0) and no hash yet:
    its content is known only once the form's file arrived.
    """

    upload_id: str
    user_id: str
    name: str
    hash: str
    size: int
    part_size: int
    part_count: int
    content_type: str = ""
    cause: str = ""
    key: str = ""  # backend key the parts are written to (S3: the temp or final key)
    backend_upload_id: str = ""  # S3 multipart UploadId ("" for local and single-part uploads)
    expire_time: int = 0

    @property
    def is_form(self) -> bool:
        return self.part_count == 0


@dataclass(frozen=True, slots=True)
class DeviceTokenRecord:
    """One device's offline-push token: FCM registration token, APNs device token, or an opaque id for
    the generic HTTP provider. One per (user, platform), as OpenIM keeps it."""

    user_id: str
    platform_id: int
    token: str
    expire_time: int = 0  # 0: no expiry
    update_time: int = 0
    badge: int = 0  # the app's unread count the client reported (/third/set_app_badge)


@dataclass(frozen=True, slots=True)
class ClientLogRecord:
    """One log file a client uploaded (/third/logs/upload): the file itself went through the object
    storage first, this is where it is and what sent it. One record per file of an upload call."""

    log_id: str  # OpenIM's format: 10 decimal digits, the first not 0
    user_id: str  # who uploaded it (the token's user)
    platform: str  # OpenIM's platform name ("Android", "IOS", ...)
    url: str
    file_name: str = ""
    system_type: str = ""  # what older SDKs send in place of app_framework
    app_framework: str = ""
    version: str = ""
    ex: str = ""
    create_time: int = 0
