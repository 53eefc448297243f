"""The date rules of the admin panel's queries (openim.services.admin_reports): UTC days as OpenIM's
MongoDB formats them, and the argument checks that answer 1001."""

from __future__ import annotations

import pytest

from openim.services.admin_reports import END_OF_DATES_MS, check_range, day_key, day_range
from openim.storage.reports.records import DAY_MS
from openim.wire.errors import ErrCode, OpenIMError


def test_day_key_is_the_utc_date() -> None:
    assert day_key(0) == "1970-01-01"
    assert day_key(1_700_000_000_000 // DAY_MS) == "2023-11-14"  # 22:13 UTC, already the 15th east of UTC


def test_day_range_is_one_utc_day() -> None:
    start, end = day_range("2023-11-14")
    assert (start, end - start) == (1_699_920_000_000, DAY_MS)
    assert day_key(start // DAY_MS) == "2023-11-14" and day_key((end - 1) // DAY_MS) == "2023-11-14"


@pytest.mark.parametrize("text", ["2023-02-30", "2023-1-01", "23-01-01", "2023-01-01T00:00", " 2023-01-01", "x"])
def test_day_range_refuses_anything_but_a_date(text: str) -> None:
    with pytest.raises(OpenIMError) as err:
        day_range(text)
    assert err.value.code == ErrCode.ARGS


@pytest.mark.parametrize(("start", "end"), [(5, 4), (-1, 10)])
def test_check_range_refuses(start: int, end: int) -> None:
    with pytest.raises(OpenIMError) as err:
        check_range(start, end)
    assert err.value.code == ErrCode.ARGS


def test_check_range_accepts_an_empty_range_and_stops_at_the_last_date() -> None:
    assert check_range(7, 7) == (7, 7)
    assert check_range(0, 2**63 - 1) == (0, END_OF_DATES_MS)
    assert day_key((END_OF_DATES_MS - 1) // DAY_MS) == "9999-12-31"
