"""Two-factor authentication when the organization requires it (45 CFR 164.312(d)).

A member without a second factor is sent to TOTP set-up from every page until they enrol;
enrolling and removing are audited; removing needs a recent re-authentication; a log-in
with TOTP asks for the code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.test import Client as HttpClient

from phiwarden.accounts.tests.factories import (
    is_signed_in,
    reauthenticate,
    sign_in,
    totp_code,
    totp_enable,
)
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.conftest import PASSWORD

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACTIVATE = "/accounts/2fa/totp/activate/"
DEACTIVATE = "/accounts/2fa/totp/deactivate/"
AUTHENTICATE = "/accounts/2fa/authenticate/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and used TOTP codes live in the cache; start and leave it empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def frozen_clock():
    """TOTP accepts only the current 30-second step (MFA_TOTP_TOLERANCE is 0): freeze the
    clock so a code computed by the test cannot go stale before the request checks it."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def mfa_organization(organization):
    organization.mfa_required = True
    organization.save(update_fields=["mfa_required"])
    return organization


ORG_PAGES = [
    ("start page", "/"),
    ("dashboard", "/o/synthetic-billing/"),
    ("members", "/o/synthetic-billing/members/"),
    ("API tokens", "/o/synthetic-billing/tokens/"),
    ("security settings", "/o/synthetic-billing/settings/security/"),
    ("own security page", "/account/security/"),
]


@pytest.mark.parametrize(("_case", "path"), ORG_PAGES, ids=[c[0] for c in ORG_PAGES])
def test_member_without_second_factor_is_sent_to_set_up_totp(
    mfa_organization, owner, login_client, _case, path
):
    client = login_client(owner)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == ACTIVATE


@pytest.mark.parametrize(("_case", "path"), ORG_PAGES, ids=[c[0] for c in ORG_PAGES])
def test_pages_open_without_second_factor_when_not_required(owner, login_client, _case, path):
    client = login_client(owner)

    response = client.get(path, follow=True)

    assert response.status_code == 200
    assert ACTIVATE not in [url for url, _ in response.redirect_chain]
    assert not AuditEvent.objects.filter(event_code=EventCode.MFA_ENROLLMENT_REQUIRED).exists()


def test_the_block_is_recorded_once_per_session(mfa_organization, owner, login_client):
    # given one session that hits the block three times
    first = login_client(owner)
    for path in ("/", "/o/synthetic-billing/", "/o/synthetic-billing/members/"):
        assert first.get(path)["Location"] == ACTIVATE

    # then one event names the member
    event = AuditEvent.objects.get(event_code=EventCode.MFA_ENROLLMENT_REQUIRED)
    assert event.actor == owner.user

    # when a second session hits it too, that session gets its own event
    assert login_client(owner).get("/")["Location"] == ACTIVATE
    assert AuditEvent.objects.filter(event_code=EventCode.MFA_ENROLLMENT_REQUIRED).count() == 2


EXEMPT_PAGES = [
    ("two-factor overview", "/accounts/2fa/"),
    ("re-authentication", "/accounts/reauthenticate/"),
    ("log-out", "/accounts/logout/"),
]


@pytest.mark.parametrize(("_case", "path"), EXEMPT_PAGES, ids=[c[0] for c in EXEMPT_PAGES])
def test_set_up_pages_stay_reachable(mfa_organization, owner, login_client, _case, path):
    response = login_client(owner).get(path)

    assert response.status_code == 200


def test_activation_after_log_in_first_asks_for_the_password_again(
    mfa_organization, owner, login_client
):
    """allauth (65.x) treats TOTP set-up as sensitive: a log-in is not a re-authentication."""
    client = login_client(owner)

    response = client.get(ACTIVATE)

    assert response.status_code == 302
    assert (
        response["Location"]
        == "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Factivate%2F"
    )


def test_enrolling_totp_opens_the_pages_and_is_audited(
    mfa_organization, owner, login_client, django_capture_on_commit_callbacks
):
    # given a member who must enrol, has confirmed their password and opened the set-up page
    client = login_client(owner)
    reauthenticate(client)
    assert client.get(ACTIVATE).status_code == 200
    secret = client.session["mfa.totp.secret"]

    # when they enter the code their authenticator app shows
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ACTIVATE, {"code": totp_code(secret)})

    # then TOTP (and recovery codes) are active, the pages open, and both are audited
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    assert set(Authenticator.objects.filter(user=owner.user).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }
    assert client.get("/o/synthetic-billing/").status_code == 200
    totp = Authenticator.objects.get(user=owner.user, type=Authenticator.Type.TOTP)
    enabled = AuditEvent.objects.get(
        event_code=EventCode.MFA_ENABLED, data__authenticator_type="totp"
    )
    assert enabled.actor == owner.user
    assert enabled.data == {"authenticator_type": "totp", "authenticator_id": totp.pk}
    assert AuditEvent.objects.filter(event_code=EventCode.MFA_ENABLED).count() == 2


def test_a_wrong_code_enrols_nothing(mfa_organization, owner, login_client):
    client = login_client(owner)
    reauthenticate(client)
    client.get(ACTIVATE)
    secret = client.session["mfa.totp.secret"]
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = client.post(ACTIVATE, {"code": wrong})

    assert response.status_code == 200
    assert response.context["form"].errors == {"code": ["Incorrect code."]}
    assert not Authenticator.objects.filter(user=owner.user).exists()
    assert client.get("/o/synthetic-billing/")["Location"] == ACTIVATE


def test_log_in_with_totp_asks_for_the_code_and_accepts_a_valid_one(mfa_organization, owner):
    secret = totp_enable(owner.user)
    client = HttpClient()

    # when the password is right, the second step is the code
    response = client.post("/accounts/login/", {"login": owner.user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == AUTHENTICATE
    assert not is_signed_in(client)
    assert not AuditEvent.objects.filter(event_code=EventCode.LOGIN_SUCCEEDED).exists()

    # and a valid code completes the log-in, with the pages open
    response = client.post(AUTHENTICATE, {"code": totp_code(secret)})

    assert response.status_code == 302
    assert client.get("/o/synthetic-billing/").status_code == 200
    assert AuditEvent.objects.get(event_code=EventCode.LOGIN_SUCCEEDED).actor == owner.user


def test_log_in_with_a_wrong_code_is_refused(mfa_organization, owner):
    secret = totp_enable(owner.user)
    client = HttpClient()
    sign_in(client, owner.user.email)
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = client.post(AUTHENTICATE, {"code": wrong})

    assert response.status_code == 200
    assert response.context["form"].errors == {"code": ["Incorrect code."]}
    assert not is_signed_in(client)
    assert not AuditEvent.objects.filter(event_code=EventCode.LOGIN_SUCCEEDED).exists()


def signed_in_with_totp(membership, secret: str) -> HttpClient:
    client = HttpClient()
    sign_in(client, membership.user.email)
    response = client.post(AUTHENTICATE, {"code": totp_code(secret)})
    assert response.status_code == 302
    return client


REAUTH_CASES = [
    ("just re-authenticated", timedelta(0), False),
    ("one second inside the timeout", timedelta(seconds=299), False),
    ("timeout reached", timedelta(seconds=300), True),
    ("ten minutes later", timedelta(minutes=10), True),
]


@pytest.mark.parametrize(
    ("_case", "elapsed", "asks_again"), REAUTH_CASES, ids=[c[0] for c in REAUTH_CASES]
)
def test_removing_totp_needs_a_recent_reauthentication(
    mfa_organization, owner, settings, frozen_clock, _case, elapsed, asks_again
):
    assert settings.ACCOUNT_REAUTHENTICATION_TIMEOUT == 300
    secret = totp_enable(owner.user)
    client = signed_in_with_totp(owner, secret)
    # a log-in alone is not enough
    assert client.get(DEACTIVATE)["Location"].startswith("/accounts/reauthenticate/")
    reauthenticate(client)
    frozen_clock.shift(elapsed)

    response = client.get(DEACTIVATE)

    if asks_again:
        assert response.status_code == 302
        assert response["Location"] == (
            "/accounts/reauthenticate/?next=%2Faccounts%2F2fa%2Ftotp%2Fdeactivate%2F"
        )
    else:
        assert response.status_code == 200


def test_removing_totp_is_audited_and_brings_the_block_back(
    mfa_organization, owner, django_capture_on_commit_callbacks
):
    # given a member with TOTP who has just confirmed their password
    secret = totp_enable(owner.user)
    client = signed_in_with_totp(owner, secret)
    reauthenticate(client)
    totp = Authenticator.objects.get(user=owner.user, type=Authenticator.Type.TOTP)

    # when they remove TOTP
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DEACTIVATE)

    # then it is gone, audited, and the organization's rule applies again
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/"
    assert not Authenticator.objects.filter(user=owner.user, type="totp").exists()
    removed = AuditEvent.objects.get(event_code=EventCode.MFA_REMOVED)
    assert removed.actor == owner.user
    assert removed.data == {"authenticator_type": "totp", "authenticator_id": totp.pk}
    assert client.get("/o/synthetic-billing/")["Location"] == ACTIVATE
