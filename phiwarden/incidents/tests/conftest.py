"""Fixtures of the incidents tests."""

from __future__ import annotations

from typing import Any

import pytest

from phiwarden.incidents.tests.factories import scoping_world


@pytest.fixture
def world(owner: Any, clients: Any, make_member: Any) -> dict[str, Any]:
    """Two clients' patients, and two members who read some of them at known times."""
    return scoping_world(owner, clients, make_member)
