"""End to end in headless Chromium: a member reports an incident; an officer scopes it
from the audit trail, signs a breach assessment, and generates and downloads the notice
to a client. Run alone with `pytest -m browser`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.conftest import PASSWORD
from phiwarden.incidents.tests.factories import scoping_world, window

pytestmark = pytest.mark.browser


@pytest.fixture
def scene(
    transactional_db: None,
    owner: Membership,
    privacy_officer: Membership,
    workforce_member: Membership,
    clients: list[Client],
    make_member: Any,
) -> dict[str, Any]:
    world = scoping_world(owner, clients, make_member)
    return {
        "officer": privacy_officer,
        "member": workforce_member,
        "snoop": world["snoop"],
        "client": clients[0],
        "today": timezone.localdate().isoformat(),
    }


def sign_in(page: Any, base: Any, email: str) -> None:
    page.goto(base.url("/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_report_scope_assess_and_download_the_client_notice(scene, browser_page):
    page = browser_page.page
    since, until = window()

    # A member reports what they saw.
    sign_in(page, browser_page, scene["member"].user.email)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Report an incident"
    ).click()
    page.get_by_label("What kind of incident").select_option("unauthorized_access")
    page.get_by_label("Short label").fill("Colleague browsing accounts")
    page.get_by_label("What happened").fill("A colleague opened accounts without a reason.")
    page.get_by_label("When was it discovered").fill(scene["today"])
    with page.expect_navigation():
        page.get_by_role("button", name="Report the incident").click()
    heading = page.get_by_role("heading", level=1)
    assert re.match(r"INC-\d{4}-0001: Colleague browsing accounts", heading.inner_text())
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()

    # The officer scopes it from the snoop's reads in the window.
    sign_in(page, browser_page, scene["officer"].user.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    page.get_by_role("link", name=re.compile(r"INC-\d{4}-0001")).click()
    page.get_by_role("button", name="Evidence and breach scope").click()
    scope_form = page.locator("#scope form")
    scope_form.get_by_label(re.compile(scene["snoop"].user.email)).check()
    scope_form.get_by_label("From").fill(since.strftime("%Y-%m-%dT%H:%M"))
    scope_form.get_by_label("Until").fill(until.strftime("%Y-%m-%dT%H:%M"))
    with page.expect_navigation():
        scope_form.get_by_role("button", name="Compute the scope").click()
    assert "Scoped: 5 individuals across 2 clients" in page.locator(".messages").inner_text()

    # ... assesses it as a breach and signs.
    page.get_by_role("link", name=re.compile(r"INC-\d{4}-0001")).first.click()
    with page.expect_navigation():
        page.get_by_role("button", name="Start the assessment").click()
    page.get_by_label("Decision").select_option("breach")
    page.get_by_label("Reasons").fill("Names and amounts were viewed without a reason.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the draft").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign version 1").click()
    assert "signed: Breach" in page.locator(".messages").inner_text()

    # ... generates the notice to the first client and downloads its letter.
    client_name = scene["client"].name
    row = page.locator("#notices tbody tr").filter(has_text=f"Covered-entity client: {client_name}")
    with page.expect_navigation():
        row.get_by_role("button", name="Generate").click()
    row = page.locator("#notices tbody tr").filter(has_text=f"Covered-entity client: {client_name}")
    with page.expect_download() as info:
        row.get_by_role("link", name="Letter (PDF)").click()
    path = info.value.path()
    with open(path, "rb") as letter:
        assert letter.read(4) == b"%PDF"

    assert browser_page.csp_violations() == []
    assert browser_page.page_errors == []
