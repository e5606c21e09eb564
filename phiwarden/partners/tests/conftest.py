"""Fixtures for the partners tests: a clock frozen on 2025-03-03, an officer, and an API
caller holding the officer's token."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client as HttpClient

from phiwarden.accounts.roles import ROLE_CAPABILITIES
from phiwarden.accounts.services import api_token_create

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


@pytest.fixture
def token_caller():
    """`call(membership)` → a function calling /api/v1/partners with that member's token,
    holding every capability of the member's role."""

    def for_member(membership):
        _token, raw = api_token_create(
            actor=membership,
            name="script",
            scopes=sorted(c.value for c in ROLE_CAPABILITIES[membership.role]),
            days=30,
        )
        headers = {"Authorization": f"Bearer {raw}"}

        def call(method, path, body=None, files=None):
            client = HttpClient()
            url = f"/api/v1/partners{path}"
            if files is not None:
                return client.post(url, files, headers=headers)
            if body is None:
                return client.generic(method, url, headers=headers)
            return client.generic(
                method, url, json.dumps(body), content_type="application/json", headers=headers
            )

        return call

    return for_member


@pytest.fixture
def api(officer, token_caller):
    return token_caller(officer)
