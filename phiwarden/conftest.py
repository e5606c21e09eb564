"""Personas shared by every app's tests (STYLE.md §8): people in one synthetic organization
in every role, and an outsider who owns another organization."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client as HttpClient

from phiwarden.accounts.models import Client, Membership, Organization, User
from phiwarden.accounts.roles import Role

PASSWORD = "correct horse battery staple 42"


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
