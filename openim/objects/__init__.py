"""File storage for uploads (the /object/* routes): names, upload sessions and limits in
:mod:`openim.objects.service`, bytes on the local disk (embedded mode) or in any S3-compatible store
(cluster mode)."""

from __future__ import annotations

from pathlib import Path

from openim.config import Config
from openim.objects.backend import Location, ObjectBackend, PartTarget
from openim.objects.service import ObjectService, UploadSweeper

__all__ = ["Location", "ObjectBackend", "ObjectService", "PartTarget", "UploadSweeper", "make_backend"]


def make_backend(config: Config) -> ObjectBackend:
    """The backend ``config.object_storage`` names (unchecked: call ``await backend.check()`` at start)."""
    cfg = config.object_storage
    if cfg.backend == "s3":
        from openim.objects.s3 import S3Backend

        return S3Backend(cfg)
    from openim.objects.form_policy import derive_key
    from openim.objects.local import LocalBackend

    root = Path(cfg.local_dir) if cfg.local_dir else config.data_path / "objects"
    return LocalBackend(root, form_key=derive_key(config.secret))
