"""``POST <prefix>.form/<uploadID>``: where the local backend receives browser form uploads (the URL
/object/initiate_form_data hands out), as S3 receives them: the fields first, then the file.

No token: the signed policy among the fields is the credential, as for S3. It is verified (signature,
expiry, upload, content type) when the file part begins, before a byte of the file is read; the file
then streams to disk and is refused the moment it grows past the policy's size. Answers: 200 (empty)
when stored, 400 malformed or a file of the wrong size, 403 a missing, forged or expired policy, 404 an
unknown or finished upload, 413 too large. Fields after the file are ignored, as S3 does.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from openim.api.framework import CORS_HEADERS
from openim.config import ObjectStorageConfig
from openim.objects import ObjectService
from openim.objects.backend import FormFileWriter
from openim.objects.form_policy import FORM_FILE_FIELD, FormRefused
from openim.objects.form_stream import Field, FileData, FileEnd, FileStart, FormError, FormReader, boundary_of
from openim.ops.logging import get_log
from openim.wire.errors import ErrCode, OpenIMError

log = get_log("api.object")

FORM_OVERHEAD = 256 * 1024  # what a form may carry besides its file (fields, part headers, boundaries)
_STATUS = {ErrCode.RECORD_NOT_FOUND: 404, ErrCode.FILE_UPLOADED_EXPIRED: 404, ErrCode.NO_PERMISSION: 403}


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status, headers=CORS_HEADERS)


class FormPostReceiver:
    def __init__(self, objects: ObjectService, cfg: ObjectStorageConfig) -> None:
        self._objects = objects
        self._cfg = cfg

    async def post_form(self, request: Request) -> Response:
        upload_id = request.path_params["upload_id"]
        writer: FormFileWriter | None = None
        stored = False
        try:
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._cfg.max_file_size + FORM_OVERHEAD:
                return _text(413, "form too large")
            reader = FormReader(boundary_of(request.headers.get("content-type", "")), FORM_FILE_FIELD)
            fields: dict[str, str] = {}
            async for chunk in request.stream():
                for event in reader.feed(chunk):
                    if isinstance(event, Field) and writer is None:
                        fields.setdefault(event.name, event.value)
                    elif isinstance(event, FileStart):
                        if writer is not None or event.name != FORM_FILE_FIELD:
                            raise FormRefused(400, f"one file, in the field {FORM_FILE_FIELD!r}, after the fields")
                        writer = await self._objects.receive_form(upload_id, fields)
                    elif isinstance(event, FileData) and writer is not None:
                        await writer.write(event.data)
                    elif isinstance(event, FileEnd) and writer is not None:
                        await writer.commit()
                        stored = True
                if stored:
                    break  # what follows the file is ignored (S3 ignores it too)
            if not stored:
                reader.close()
                raise FormRefused(400, f"the form has no {FORM_FILE_FIELD!r} field")
        except FormError as err:
            return _text(400, str(err))
        except FormRefused as err:
            if err.status != 404:
                log.info("object.form_refused", upload_id=upload_id, status=err.status, reason=err.message)
            return _text(err.status, err.message)
        except OpenIMError as err:
            return _text(_STATUS.get(err.code, 400), err.detail or err.name)
        except ClientDisconnect:
            log.debug("object.client_gone", upload_id=upload_id)
            return Response(status_code=400)
        finally:
            if writer is not None and not stored:
                await writer.discard()
        return Response(status_code=200, headers=CORS_HEADERS)
