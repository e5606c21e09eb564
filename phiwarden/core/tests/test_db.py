"""PostgreSQL timestamps load through psycopg's C parser and equal what Django's loader gives."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import (  # type: ignore[import-untyped]
    register_tzloader,
)

from phiwarden.accounts.models import Organization
from phiwarden.core.db import utc_timestamptz_loader

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Offsets, fractions, the ends of the range, daylight-saving edges and values out of range.
LITERALS = [
    "2026-11-28 01:02:03+00",
    "2026-11-28 01:02:03.456789+05:30",
    "2026-03-08 02:30:00-05",
    "1999-12-31 23:59:59.999999-12",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2024-02-29 12:00:00.5+14",
    "infinity",
    "-infinity",
    "0044-03-15 12:00:00+00 BC",
    "10000-01-01 00:00:00+00",
]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")


def _load_all(register: object) -> list[object]:
    """Each literal read back through the loader `register` puts on a fresh cursor."""
    out: list[object] = []
    for literal in LITERALS:
        with connection.cursor() as cursor:
            register(cursor.cursor)  # type: ignore[operator]
            try:
                cursor.execute("SELECT %s::timestamptz", [literal])
                out.append(cursor.fetchone()[0])
            except DataError as error:
                out.append(type(error))
    return out


def test_every_connection_reads_timestamps_through_the_compiled_loader():
    loader = utc_timestamptz_loader()
    assert loader is not None  # psycopg[binary] is a dependency
    connection.ensure_connection()

    registered = connection.connection.adapters.get_loader(1184, 0)  # timestamptz, text

    assert registered is loader
    assert loader.timezone == connection.timezone == dt.UTC  # create_cursor keeps it
    with connection.cursor() as cursor:
        assert cursor.cursor.adapters.get_loader(1184, 0) is loader


def test_timestamps_equal_djangos_own_loader_for_every_kind_of_value():
    ours = _load_all(lambda cursor: None)
    djangos = _load_all(lambda cursor: register_tzloader(dt.UTC, cursor))

    assert ours == djangos
    values = [v for v in ours if isinstance(v, dt.datetime)]
    assert len(values) == 7
    assert all(v.tzinfo is dt.UTC for v in values)
    assert values[1] == dt.datetime(2026, 11, 27, 19, 32, 3, 456789, tzinfo=dt.UTC)


def test_model_timestamps_round_trip_to_the_microsecond(organization):
    moment = dt.datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=dt.UTC)
    Organization.objects.filter(pk=organization.pk).update(created_at=moment)

    assert Organization.objects.get(pk=organization.pk).created_at == moment
