"""Database connection set-up that Django leaves to the project.

PostgreSQL timestamps: Django (5.2) reads every `timestamptz` value through its own loader,
a Python subclass of psycopg's pure-Python `TimestamptzLoader` that parses the text with a
regular expression and then sets the connection's time zone on the result. With the
binary psycopg installed, psycopg's own loader for the same text is compiled C. On the
claim-detail read (about a dozen timestamps: token, membership, user, organization) the
Python parse was 5 % of all the Python work per request (callgrind, docs/benchmarks.md).

When the connection's time zone is UTC (Django's with USE_TZ and no per-database
TIME_ZONE, as here), both give the same aware datetime: psycopg's converts to the
session's time zone, which Django has set to UTC, and Django's relabels the result as
UTC. Only then is the C loader put in front (wrapped in a small Python class, since
compiled classes cannot be subclassed, carrying the `timezone` attribute Django's
`create_cursor` compares before it would re-register its own). Otherwise nothing changes.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import adapters
from psycopg.adapt import Loader
from psycopg.postgres import types
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

_TIMESTAMPTZ = "timestamptz"


def _compiled_loader() -> type[Any] | None:
    """psycopg's C loader for timestamptz text, or None without the binary package."""
    loader = adapters.get_loader(types[_TIMESTAMPTZ].oid, Format.TEXT)
    if loader is None or issubclass(loader, TimestamptzLoader):  # pure Python: no gain
        return None
    return loader


@functools.cache
def utc_timestamptz_loader() -> type[Any] | None:
    """A Python loader class that answers like Django's UTC loader with psycopg's C parse."""
    found = _compiled_loader()
    if found is None:
        return None
    compiled: type[Any] = found  # narrowed for the class body below

    class UtcTimestamptzLoader(Loader):
        # What Django's create_cursor compares with the connection's time zone.
        timezone = dt.UTC

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            self._parse = compiled(oid, context).load

        def load(self, data: Any) -> dt.datetime:
            return self._parse(data)  # type: ignore[no-any-return]

    return UtcTimestamptzLoader


def use_compiled_timestamps(connection: BaseDatabaseWrapper, **_: Any) -> None:
    """`connection_created` receiver: the C timestamptz loader on a UTC PostgreSQL
    connection (see the module docstring); any other connection is left as Django made it."""
    if connection.vendor != "postgresql" or connection.timezone_name != "UTC":
        return
    if connection.timezone != dt.UTC:  # USE_TZ off: Django loads naive datetimes
        return
    loader = utc_timestamptz_loader()
    if loader is not None:
        connection.connection.adapters.register_loader(_TIMESTAMPTZ, loader)
