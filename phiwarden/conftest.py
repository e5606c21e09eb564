"""Personas shared by every app's tests (STYLE.md §8): people in one synthetic organization
in every role, and an outsider who owns another organization."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client as HttpClient

from phiwarden.accounts.models import Client, Membership, Organization, User
from phiwarden.accounts.roles import Role

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The in-memory cache holds allauth's log-in rate limits and used TOTP codes; clear it
    around each test so no test inherits another's (a 429, or a code "already used").
    The vault's per-process cache of unwrapped organization keys is cleared too."""
    from django.core.cache import caches

    from phiwarden.vault.services import cipher_cache_clear

    for cache in caches.all(initialized_only=True):
        cache.clear()
    cipher_cache_clear()


def _member(organization: Organization, role: Role, email: str) -> Membership:
    user = User.objects.create_user(email, PASSWORD, full_name=f"Synthetic {role.label}")
    return Membership.objects.create(user=user, organization=organization, role=role)


@pytest.fixture
def organization(db: None) -> Organization:
    return Organization.objects.create(
        name="Synthetic Billing", slug="synthetic-billing", is_synthetic=True, mfa_required=False
    )


@pytest.fixture
def other_organization(db: None) -> Organization:
    return Organization.objects.create(
        name="Other Synthetic Billing", slug="other-billing", is_synthetic=True, mfa_required=False
    )


@pytest.fixture
def clients(organization: Organization) -> list[Client]:
    return [
        Client.objects.create(organization=organization, name="Synthetic Family Practice"),
        Client.objects.create(organization=organization, name="Synthetic Orthopedics"),
    ]


@pytest.fixture
def make_member(organization: Organization) -> Callable[..., Membership]:
    def make(role: Role, email: str | None = None, org: Organization | None = None) -> Membership:
        return _member(org or organization, role, email or f"{role.value}@example.test")

    return make


@pytest.fixture
def owner(make_member: Callable[..., Membership]) -> Membership:
    return make_member(Role.OWNER)


@pytest.fixture
def privacy_officer(make_member: Callable[..., Membership]) -> Membership:
    return make_member(Role.PRIVACY_OFFICER)


@pytest.fixture
def biller(make_member: Callable[..., Membership], clients: list[Client]) -> Membership:
    membership = make_member(Role.CLAIMS_SPECIALIST)
    membership.clients.set([clients[0]])
    return membership


@pytest.fixture
def auditor(make_member: Callable[..., Membership]) -> Membership:
    return make_member(Role.AUDITOR)


@pytest.fixture
def workforce_member(make_member: Callable[..., Membership]) -> Membership:
    return make_member(Role.WORKFORCE_MEMBER)


@pytest.fixture
def outsider(other_organization: Organization) -> Membership:
    return _member(other_organization, Role.OWNER, "outsider@example.test")


@pytest.fixture
def login_client() -> Callable[[Membership], HttpClient]:
    """A test client signed in through the real log-in page (so session stamps are set)."""

    def sign_in(membership: Membership) -> HttpClient:
        client = HttpClient()
        response = client.post(
            "/accounts/login/", {"login": membership.user.email, "password": PASSWORD}
        )
        assert response.status_code == 302, response.content[:500]
        return client

    return sign_in


# --- Browser tests (pytest -m browser) -------------------------------------------------

# Debian's chromium; Playwright's own browser download is not used (PHIWARDEN_CHROMIUM overrides).
CHROMIUM_EXECUTABLE = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class BrowserPage:
    """A Playwright page on the live server, with what the browser logged while it ran."""

    page: Any
    base_url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]


@pytest.fixture
def browser_page(live_server: Any) -> Iterator[BrowserPage]:
    """Headless Chromium (sync Playwright) pointed at pytest-django's live server.

    Create database rows in fixtures requested *before* this one: while the sync Playwright
    API is running, the main thread has a running event loop and Django refuses ORM calls
    from it (SynchronousOnlyOperation). The live server answers from its own thread.

    Without Chromium the test is skipped, unless PHIWARDEN_REQUIRE_BROWSER is set (CI),
    in which case it fails.
    """
    executable = os.environ.get("PHIWARDEN_CHROMIUM", CHROMIUM_EXECUTABLE)
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        reason = f"Chromium not found at {executable} (apt-get install chromium)"
        if os.environ.get("PHIWARDEN_REQUIRE_BROWSER"):
            pytest.fail(f"{reason}; PHIWARDEN_REQUIRE_BROWSER is set", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(15_000)
            result = BrowserPage(page=page, base_url=live_server.url)
            page.on(
                "console",
                lambda message: (
                    result.console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: result.page_errors.append(str(error)))
            yield result
            context.close()
        finally:
            browser.close()
