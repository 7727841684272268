"""Cursors and keyset conditions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from store import keyset
from store.contacts import ORDERINGS, ContactOrder, birthday_keys


def test_a_cursor_round_trips_its_sort_values() -> None:
    keys = ORDERINGS[ContactOrder.NEXT_FOLLOW_UP]
    row = {"next_follow_up_at": datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "id": UUID(int=7)}
    cursor = keyset.encode_cursor("contacts:NEXT_FOLLOW_UP", keys, row)
    assert keyset.decode_cursor("contacts:NEXT_FOLLOW_UP", keys, cursor) == [
        row["next_follow_up_at"],
        row["id"],
    ]


def test_a_null_sort_value_survives_the_round_trip() -> None:
    keys = ORDERINGS[ContactOrder.NEXT_FOLLOW_UP]
    cursor = keyset.encode_cursor("t", keys, {"next_follow_up_at": None, "id": UUID(int=1)})
    assert keyset.decode_cursor("t", keys, cursor) == [None, UUID(int=1)]


@pytest.mark.parametrize("cursor", ["garbage", "", "W10=", "WyJvdGhlciIsImEiLCJiIl0="])
def test_foreign_or_broken_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(keyset.BadCursor):
        keyset.decode_cursor("contacts:NAME", ORDERINGS[ContactOrder.NAME], cursor)


def test_a_cursor_with_null_where_no_row_has_one_is_refused() -> None:
    # Forged: ids are never NULL (the condition "id > NULL" failed inside SQLAlchemy, a 500).
    keys = ORDERINGS[ContactOrder.NEXT_FOLLOW_UP]
    cursor = keyset.encode_cursor("t", keys, {"next_follow_up_at": None, "id": None})
    with pytest.raises(keyset.BadCursor):
        keyset.decode_cursor("t", keys, cursor)


def test_a_cursor_from_another_ordering_is_refused() -> None:
    row = {"sort_name": "ada", "id": UUID(int=1)}
    cursor = keyset.encode_cursor("contacts:NAME", ORDERINGS[ContactOrder.NAME], row)
    with pytest.raises(keyset.BadCursor):
        keyset.decode_cursor("contacts:CREATED", ORDERINGS[ContactOrder.CREATED], cursor)


def test_birthday_window_wraps_the_year() -> None:
    keys = birthday_keys(date(2026, 12, 30), 3)
    assert keys == [1230, 1231, 101, 102]


def test_feb_29_birthdays_fall_on_feb_28_in_common_years() -> None:
    assert 229 in birthday_keys(date(2027, 2, 28), 0)
    assert 229 not in birthday_keys(date(2028, 2, 28), 0)
    assert 229 in birthday_keys(date(2028, 2, 29), 0)
