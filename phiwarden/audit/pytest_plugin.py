"""Pytest plumbing for the append-only audit tables (loaded with `-p` from pyproject).

Ordinary tests roll back, which the triggers allow. Transactional tests (live server,
concurrency) end with a flush that DELETEs every row, which the triggers refuse; for
those alone the triggers are lifted just before the flush and put back before the next
test starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

_TRANSACTIONAL = ("transactional_db", "live_server", "django_db_reset_sequences")


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return any(name in request.fixturenames for name in _TRANSACTIONAL)


@pytest.fixture(autouse=True)
def _audit_triggers_in_place(request: pytest.FixtureRequest, django_db_blocker: Any) -> None:
    """Autouse fixtures run before `db` opens its transaction, so this commits."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("django_db_setup")
        from django.db import connections

        from phiwarden.audit import triggers

        with django_db_blocker.unblock():
            for connection in connections.all():
                if not triggers.installed(connection):
                    triggers.install(connection)
        if _is_transactional(request):
            request.getfixturevalue("_audit_triggers_lifted_for_flush")


@pytest.fixture
def _audit_triggers_lifted_for_flush(transactional_db: None) -> Iterator[None]:
    """Torn down before transactional_db, so the triggers are gone when it flushes."""
    yield
    from django.db import connections

    from phiwarden.audit import triggers

    for connection in connections.all():
        triggers.remove(connection)
