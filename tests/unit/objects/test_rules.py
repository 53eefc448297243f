"""The object API's pure rules: part sizing (MinIO's), names, hashes, content types."""

from __future__ import annotations

import pytest

from openim.objects import rules
from openim.wire.errors import ErrCode, OpenIMError

MIB = 1024 * 1024


def test_part_size_is_5_mib_until_10000_parts_no_longer_suffice() -> None:
    assert rules.part_size(1) == 5 * MIB
    assert rules.part_size(5 * MIB * 10000) == 5 * MIB
    assert rules.part_size(5 * MIB * 10000 + 1) == -(-(5 * MIB * 10000 + 1) // 10000)
    for bad in (0, -1, 5 * 1024 * MIB * 10000 + 1):
        with pytest.raises(OpenIMError):
            rules.part_size(bad)


def test_part_count_and_client_part_sizes() -> None:
    assert rules.part_count(11 * MIB, 5 * MIB) == 3
    assert rules.part_count(1, 5 * MIB) == 1
    rules.check_part_size(100, 1)
    with pytest.raises(OpenIMError):
        rules.check_part_size(10001, 1)  # 10001 parts
    with pytest.raises(OpenIMError):
        rules.check_part_size(10, 0)


def test_names() -> None:
    rules.check_name("u1/a.png", "u1", is_admin=False)
    rules.check_name("anything/x", "u1", is_admin=True)
    with pytest.raises(OpenIMError) as denied:
        rules.check_name("u2/a.png", "u1", is_admin=False)
    assert denied.value.code == ErrCode.NO_PERMISSION
    for bad in ("", "/abs", "u1/" + "x" * 1100, "u1/a\x00b"):
        with pytest.raises(OpenIMError) as err:
            rules.check_name(bad, "u1", is_admin=True)
        assert err.value.code == ErrCode.ARGS


def test_hashes_and_content_types() -> None:
    assert rules.check_md5("D41D8CD98F00B204E9800998ECF8427E") == "d41d8cd98f00b204e9800998ecf8427e"
    with pytest.raises(OpenIMError):
        rules.check_md5("xyz")
    # The SDK's hash of a one-part upload: md5 of the part's md5 hex.
    assert rules.combined_hash(["d41d8cd98f00b204e9800998ecf8427e"]) == "74be16979710d4c4e7c6647856088456"
    assert rules.content_type_allowed("image/png", ())
    assert rules.content_type_allowed("image/PNG; q=1", ("image/*",))
    assert not rules.content_type_allowed("application/x-msdownload", ("image/*", "text/plain"))
