"""The local backend's side of form uploads: the posted file's writer, completion (retry-safe, hashed
as the SDK hashes) and what an abandoned form leaves to the sweeper."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from openim.objects import rules
from openim.objects.form_policy import FormRefused
from openim.objects.local import LocalBackend, sdk_hash
from openim.storage.objects.records import UploadRecord
from openim.wire.errors import ErrCode, OpenIMError

pytestmark = pytest.mark.trio

MIB = 1024 * 1024


def _form(upload_id: str, size: int) -> UploadRecord:
    return UploadRecord(upload_id, "u1", "u1/f", "", size, size, 0, "", "", f"uploads/{upload_id}/form")


async def _post(backend: LocalBackend, upload: UploadRecord, data: bytes, piece: int = 100_000) -> None:
    writer = await backend.form_writer(upload.upload_id, upload.size)
    for i in range(0, len(data), piece):
        await writer.write(data[i : i + piece])
    await writer.commit()


async def test_sdk_hash_is_the_hash_of_its_parts(tmp_path: Path) -> None:
    data = b"abc" * (4 * MIB)  # 12 MiB: three parts of 5 MiB
    path = tmp_path / "f"
    path.write_bytes(data)
    part = rules.part_size(len(data))
    md5s = [hashlib.md5(data[i : i + part]).hexdigest() for i in range(0, len(data), part)]
    assert len(md5s) == 3 and sdk_hash(path, len(data)) == rules.combined_hash(md5s)
    exact = tmp_path / "g"
    exact.write_bytes(b"z" * (5 * MIB))
    assert sdk_hash(exact, 5 * MIB) == rules.combined_hash([hashlib.md5(b"z" * (5 * MIB)).hexdigest()])


async def test_posted_file_becomes_a_blob_and_completion_can_be_retried(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    await backend.check()
    upload = _form("up1", 3 * MIB)
    await backend.start_form(upload.upload_id, "u1", "u1/f")
    data = bytes(range(256)) * (3 * MIB // 256)
    await _post(backend, upload, data)
    first = await backend.finish_form(upload)
    again = await backend.finish_form(upload)  # e.g. the store failed after the first
    assert first == again and first.size == len(data)
    assert (tmp_path / first.key).read_bytes() == data
    await backend.forget_form(upload)
    assert not (tmp_path / "uploads" / "up1").exists() and (tmp_path / first.key).is_file()


async def test_a_file_of_the_wrong_size_is_never_kept(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    upload = _form("up2", 10)
    await backend.start_form(upload.upload_id, "u1", "u1/f")
    writer = await backend.form_writer("up2", 10)
    await writer.write(b"0123456789")
    with pytest.raises(FormRefused) as too_big:
        await writer.write(b"x")
    assert too_big.value.status == 413
    await writer.discard()
    short = await backend.form_writer("up2", 10)
    await short.write(b"012")
    with pytest.raises(FormRefused) as too_small:
        await short.commit()
    assert too_small.value.status == 400
    assert list((tmp_path / "uploads" / "up2").iterdir()) == []
    with pytest.raises(OpenIMError) as missing:
        await backend.finish_form(upload)
    assert missing.value.code == ErrCode.RECORD_NOT_FOUND


async def test_abandoned_form_is_removed_by_abort_and_later_posts_are_refused(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    upload = _form("up3", 4)
    await backend.start_form(upload.upload_id, "u1", "u1/f")
    await _post(backend, upload, b"abcd")
    await backend.abort(upload)  # the sweeper, once the session expired
    assert not (tmp_path / "uploads" / "up3").exists()
    writer = await backend.form_writer("up3", 4)
    await writer.write(b"abcd")
    with pytest.raises(FormRefused) as gone:
        await writer.commit()
    assert gone.value.status == 404
