"""End to end in headless Chromium: the flow map page renders its SVG under the strict
CSP, names its gaps, and works from the keyboard. Run alone with `pytest -m browser`."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership, Organization, User
from phiwarden.accounts.roles import Role
from phiwarden.conftest import PASSWORD
from phiwarden.partners import services
from phiwarden.partners.tests.factories import approved_vendor, make_vendor, map_flow, sign_baa

pytestmark = pytest.mark.browser

EMAIL = "map.officer@example.test"
SCREENSHOT = "/tmp/phiwarden-flow-map.png"  # noqa: S108  (a fixed path to look at)


@pytest.fixture
def mapped_officer(transactional_db) -> Membership:
    organization = Organization.objects.create(
        name="Synthetic Map Billing", slug="map-billing", is_synthetic=True, mfa_required=False
    )
    user = User.objects.create_user(EMAIL, PASSWORD, full_name="Synthetic Officer")
    officer = Membership.objects.create(
        user=user, organization=organization, role=Role.PRIVACY_OFFICER
    )
    clinic = Client.objects.create(organization=organization, name="Synthetic Clinic")
    today = timezone.localdate()
    sign_baa(officer, client=clinic, signed_on=today - dt.timedelta(days=30), expires_on=None)
    clearing = approved_vendor(officer, "Synthetic Clearinghouse", reviewed_on=today)
    sign_baa(officer, vendor=clearing, signed_on=today - dt.timedelta(days=30), expires_on=None)
    services.channels_set(actor=officer, channels=["sftp", "secure_portal"])
    map_flow(officer, destination_vendor=clearing)
    printer = make_vendor(officer, "Synthetic Mail House")
    map_flow(
        officer, stage="statements", name="Statements", destination_vendor=printer, channel="mail"
    )
    services.flow_observed(organization, clinic, "secure_portal", "intake")
    return officer


def test_flow_map_page_draws_the_map_and_works_by_keyboard(mapped_officer, browser_page):
    page = browser_page.page
    page.goto(browser_page.url("/accounts/login/"))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Partners").click()
    page.wait_for_url(re.compile(r"/o/map-billing/partners/$"))
    page.get_by_role("link", name="PHI flow map").first.click()
    page.wait_for_url(re.compile(r"/o/map-billing/partners/flows/$"))

    figure = page.get_by_role("img", name="PHI flow map of Synthetic Map Billing")
    assert figure.is_visible()
    assert page.locator("svg.flow-map g.lane").count() == 9
    assert page.locator("svg.flow-map g.flow").count() == 3
    flagged = page.locator("svg.flow-map g.flow[data-flags~='unapproved_channel']")
    assert flagged.count() == 1
    assert flagged.locator("text").text_content() == "Mail (paper) ⚠ 4"
    assert page.locator("svg.flow-map g.flow[data-status='suggested']").count() == 1
    assert page.get_by_role("table").filter(has_text="Flows by stage").is_visible()
    box = figure.bounding_box()
    assert box is not None
    assert box["width"] > 500
    assert box["height"] > 400
    page.screenshot(path=SCREENSHOT, full_page=True)

    # Keyboard: the skip link comes first and lands in the page, whose first stop is the
    # partners section navigation; the suggested flow's Confirm button is reachable.
    page.locator("body").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Overview"
    confirm = page.get_by_role("button", name="Confirm Files from Synthetic Clinic")
    confirm.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".messages").inner_text() == "Flow confirmed."

    assert browser_page.csp_violations() == []
    assert browser_page.page_errors == []
