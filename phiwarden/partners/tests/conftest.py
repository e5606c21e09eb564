"""Fixtures for the partners tests: a clock frozen on 2025-03-03 and an officer."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

TODAY = dt.date(2025, 3, 3)


@pytest.fixture(autouse=True)
def _frozen_today(request):
    """Every test but the browser's runs on a still clock (Playwright keeps real time)."""
    if request.node.get_closest_marker("browser"):
        yield
        return
    with time_machine.travel(dt.datetime(2025, 3, 3, 15, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def officer(privacy_officer):
    return privacy_officer
