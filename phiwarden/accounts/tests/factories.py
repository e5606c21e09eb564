"""Factories and small helpers for the accounts tests (personas live in phiwarden/conftest.py).

Everything made here is synthetic: `.test` addresses (RFC 2606) and organizations marked
`is_synthetic`.
"""

from __future__ import annotations

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client as HttpClient
from factory.declarations import Sequence, SubFactory
from factory.django import DjangoModelFactory

from phiwarden.accounts.models import Membership, Organization, User
from phiwarden.accounts.roles import Role
from phiwarden.conftest import PASSWORD


class OrganizationFactory(DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = Sequence(lambda n: f"Synthetic Billing {n}")
    slug = Sequence(lambda n: f"synthetic-{n}")
    is_synthetic = True
    mfa_required = False


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    email = Sequence(lambda n: f"person{n}@example.test")
    full_name = Sequence(lambda n: f"Synthetic Person {n}")

    @classmethod
    def _create(cls, model_class: type[User], *args: object, **kwargs: object) -> User:
        """Through the manager, so the password is hashed like a real account's."""
        return User.objects.create_user(password=PASSWORD, **kwargs)  # type: ignore[arg-type]


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = SubFactory(UserFactory)
    organization = SubFactory(OrganizationFactory)
    role = Role.CLAIMS_SPECIALIST


# --- Two-factor authentication -------------------------------------------


def totp_code(secret: str) -> str:
    """The code an authenticator app would show now (time-machine aware: reads time.time)."""
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return str(format_hotp_value(hotp_value(secret, counter)))


def totp_enable(user: User) -> str:
    """Give the user a TOTP authenticator directly (no web flow); returns its secret."""
    secret: str = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


# --- Web sessions --------------------------------------------------------


def sign_in(client: HttpClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/accounts/login/", {"login": email, "password": password})
    assert response.status_code == 302, response.content[:500]


def reauthenticate(client: HttpClient, password: str = PASSWORD) -> None:
    """Confirm the password again: allauth asks for this before sensitive changes
    (a fresh log-in does not count; only an explicit re-authentication does)."""
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content[:500]


def is_signed_in(client: HttpClient) -> bool:
    """Whether the client's session still reaches a signed-in page (and is not sent to log in)."""
    response = client.get("/account/security/")
    return response.status_code == 200
