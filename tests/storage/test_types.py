"""The column types of ``storage.models``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from storage.models import UTCDateTime

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 15, 12, 5, 57, 105542, tzinfo=UTC),
        datetime(2026, 3, 15, 12, 5, 57, tzinfo=UTC),  # no microseconds: still written
        datetime(2026, 1, 1, 7, 30, tzinfo=SHANGHAI),  # the day before, in UTC
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_sqlite_text_is_what_sqlalchemys_datetime_writes(value: datetime) -> None:
    """Stored values are compared as text in SQL: a value must read exactly like those
    written before the fast bind processor, by SQLAlchemy's own DATETIME."""
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = sqlite.DATETIME().bind_processor(dialect)
    assert ours(value) == theirs(value.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_a_naive_datetime_is_refused() -> None:
    process = UTCDateTime().bind_processor(sqlite.dialect())
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 3, 15, 12, 0))  # noqa: DTZ001 (what it refuses)
