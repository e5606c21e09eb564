"""End to end in headless Chromium: the MFA enrolment and log-in flow, and keyboard access.

Run alone with `pytest -m browser`. Needs /usr/bin/chromium (see `browser_page` in
phiwarden/conftest.py); skipped without it unless PHIWARDEN_REQUIRE_BROWSER is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest

from phiwarden.accounts.models import Membership, Organization, User
from phiwarden.accounts.roles import Role
from phiwarden.conftest import PASSWORD

pytestmark = pytest.mark.browser

ORG_NAME = "Synthetic Enrolment Billing"
EMAIL = "mfa.owner@example.test"
TOTP_PERIOD = 30
DASHBOARD_SCREENSHOT = "/tmp/phiwarden-dashboard.png"  # noqa: S108  (fixed paths to look at)
LOGIN_SCREENSHOT = "/tmp/phiwarden-login.png"  # noqa: S108


def totp_code(secret: str, counter: int) -> str:
    """RFC 6238 (HMAC-SHA1, 6 digits), written out so the test does not trust allauth's own."""
    key = base64.b32decode(secret.replace(" ", ""), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def current_counter() -> int:
    return int(time.time()) // TOTP_PERIOD


@pytest.fixture
def mfa_owner(transactional_db) -> Membership:
    """An owner whose organization requires MFA and who has not enrolled yet."""
    organization = Organization.objects.create(
        name=ORG_NAME, slug="enrolment-billing", is_synthetic=True, mfa_required=True
    )
    user = User.objects.create_user(EMAIL, PASSWORD, full_name="Synthetic Owner")
    return Membership.objects.create(user=user, organization=organization, role=Role.OWNER)


def sign_in_with_password(browser, email: str, password: str) -> None:
    page = browser.page
    page.goto(browser.url("/accounts/login/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_enrol_totp_sign_out_and_sign_back_in_with_a_code(mfa_owner, browser_page, settings):
    # Every other setting is the production one. With a tolerance of one step the second
    # log-in can use the *next* step's code: a fresh code, distinct from the one used to
    # activate, without waiting up to 30 seconds for the clock to move on.
    settings.MFA_TOTP_TOLERANCE = 1
    page = browser_page.page
    assert browser_page.base_url.startswith("http://localhost")  # Secure cookies need localhost

    page.goto(browser_page.url("/accounts/login/"))
    page.screenshot(path=LOGIN_SCREENSHOT, full_page=True)
    sign_in_with_password(browser_page, EMAIL, PASSWORD)
    # Secure cookies over plain http: Chromium treats localhost as a secure context.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["phiwarden_session"]["secure"]
    assert cookies["phiwarden_session"]["httpOnly"]

    # The organization requires MFA: every page sends the member to TOTP set-up, which
    # allauth guards with a fresh password confirmation (MFA_REAUTHENTICATION_REQUIRED).
    page.wait_for_url(re.compile(r"/accounts/reauthenticate/\?next=%2Faccounts%2F2fa%2Ftotp%2F"))
    assert "requires two-factor authentication" in page.locator(".messages").inner_text()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/$"))

    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    activation_counter = current_counter()
    page.get_by_label("Authenticator code").fill(totp_code(secret, activation_counter))
    page.get_by_role("button", name="Activate").click()

    # allauth shows the freshly generated recovery codes, then the member moves on.
    page.wait_for_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    assert len(page.locator("#recovery_codes").input_value().split()) == 10
    page.get_by_role("link", name="continue").click()
    page.wait_for_url(re.compile(r"/o/enrolment-billing/$"))
    assert page.get_by_role("heading", level=1).inner_text() == ORG_NAME

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/$"))

    sign_in_with_password(browser_page, EMAIL, PASSWORD)
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/$"))
    page.get_by_label("Code").fill(totp_code(secret, activation_counter + 1))
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile(r"/o/enrolment-billing/$"))
    assert page.get_by_role("heading", level=1).inner_text() == ORG_NAME
    assert page.get_by_role("heading", name="Live checklist").is_visible()
    assert page.locator(".status-met", has_text="Enrolled").count() == 1
    page.screenshot(path=DASHBOARD_SCREENSHOT, full_page=True)

    assert browser_page.csp_violations() == []
    assert browser_page.page_errors == []


FOCUSED = """() => {
    const e = document.activeElement;
    if (e.classList.contains("skip-link")) return "skip link";
    if (e.id === "id_login") return "email";
    if (e.id === "id_password") return "password";
    if (e.matches("form button[type=submit]")) return "submit";
    return e.tagName.toLowerCase() + ":" + (e.textContent || "").trim();
}"""


def test_login_page_keyboard_order(browser_page):
    page = browser_page.page
    page.goto(browser_page.url("/accounts/login/"))

    stops = []
    for _ in range(10):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUSED))
        if stops[-1] == "submit":
            break

    # Tab from the top: the skip link first, then email, password and submit in that order.
    # Only links may sit between them (the brand, "Forgot your password?").
    assert stops[0] == "skip link", stops
    assert stops.index("email") < stops.index("password") < stops.index("submit"), stops
    others = [s for s in stops if s not in {"skip link", "email", "password", "submit"}]
    assert all(s.startswith("a:") for s in others), stops

    # The skip link shows itself when focused and takes focus to the main content.
    page.goto(browser_page.url("/accounts/login/"))
    page.keyboard.press("Tab")
    assert page.locator(".skip-link").is_visible()
    assert page.locator(".skip-link").bounding_box()["x"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "email"

    # The form can be completed and sent from the keyboard alone.
    page.keyboard.type("nobody@example.test")
    page.keyboard.press("Tab")
    page.keyboard.type("not the password at all")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "not correct" in page.locator("form").inner_text()

    assert browser_page.csp_violations() == []
    assert browser_page.page_errors == []
