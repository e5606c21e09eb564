"""Session limits and ending sessions (45 CFR 164.312(a)(2)(iii) automatic logoff).

Each organization sets an idle timeout (default 15 minutes) and an absolute lifetime
(default 12 hours); a member of several organizations gets the strictest. Signing out
everywhere, deactivation and role changes end sessions at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client as HttpClient

from phiwarden.accounts import services
from phiwarden.accounts.models import ApiToken
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    is_signed_in,
    reauthenticate,
)
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOGIN_PAGE = "/accounts/login/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth's per-IP log-in rate limits live in the cache; start and leave it empty."""
    cache.clear()
    yield
    cache.clear()


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


IDLE_CASES = [
    ("14 minutes idle", 14, True),
    ("14 minutes 59 seconds idle", 14 + 59 / 60, True),
    ("15 minutes idle", 15, False),
    ("an hour idle", 60, False),
]


@pytest.mark.parametrize(
    ("_case", "idle_minutes", "still_signed_in"), IDLE_CASES, ids=[c[0] for c in IDLE_CASES]
)
def test_idle_session_ends_after_the_default_fifteen_minutes(
    owner, login_client, _case, idle_minutes, still_signed_in
):
    assert owner.organization.idle_timeout_minutes == 15
    with time_machine.travel(START, tick=False) as traveller:
        client = login_client(owner)
        traveller.move_to(minutes(idle_minutes))

        response = client.get("/account/security/")

    assert (response.status_code == 200) is still_signed_in
    expired = AuditEvent.objects.filter(event_code=EventCode.SESSION_IDLE_EXPIRED)
    assert expired.exists() is not still_signed_in
    if not still_signed_in:
        assert response["Location"] == LOGIN_PAGE
        assert expired.get().actor == owner.user


def test_activity_keeps_the_session_alive(owner, login_client):
    with time_machine.travel(START, tick=False) as traveller:
        client = login_client(owner)
        for minute in range(10, 121, 10):
            traveller.move_to(minutes(minute))
            assert is_signed_in(client), f"signed out at minute {minute}"

    assert not AuditEvent.objects.filter(event_code=EventCode.SESSION_IDLE_EXPIRED).exists()


def test_idle_expiry_tells_the_person_why(owner, login_client):
    with time_machine.travel(START, tick=False) as traveller:
        client = login_client(owner)
        traveller.move_to(minutes(16))

        response = client.get("/account/security/", follow=True)

    assert response.redirect_chain == [(LOGIN_PAGE, 302)]
    # (the log-in greeting is still queued: the test client never followed that redirect)
    assert [str(m) for m in response.context["messages"]][-1] == (
        "You were signed out after a period of inactivity."
    )


def test_idle_timeout_follows_the_organization_setting(owner, login_client):
    owner.organization.idle_timeout_minutes = 5
    owner.organization.save(update_fields=["idle_timeout_minutes"])
    with time_machine.travel(START, tick=False) as traveller:
        client = login_client(owner)
        traveller.move_to(minutes(4))
        assert is_signed_in(client)
        traveller.move_to(minutes(9))

        assert not is_signed_in(client)

    assert AuditEvent.objects.get(event_code=EventCode.SESSION_IDLE_EXPIRED).actor == owner.user


LIFETIME_CASES = [
    ("default 12 hours", 12),
    ("organization sets 2 hours", 2),
]


@pytest.mark.parametrize(("_case", "hours"), LIFETIME_CASES, ids=[c[0] for c in LIFETIME_CASES])
def test_session_ends_at_its_absolute_lifetime_however_active(owner, login_client, _case, hours):
    # given a member who stays active (every 100 minutes, under a 120-minute idle timeout)
    organization = owner.organization
    organization.idle_timeout_minutes = 120
    organization.session_max_age_hours = hours
    organization.save(update_fields=["idle_timeout_minutes", "session_max_age_hours"])
    with time_machine.travel(START, tick=False) as traveller:
        client = login_client(owner)
        for minute in [*range(100, hours * 60, 100), hours * 60 - 1]:
            traveller.move_to(minutes(minute))
            assert is_signed_in(client), f"signed out at minute {minute}"

        # when the lifetime is reached
        traveller.move_to(minutes(hours * 60))
        response = client.get("/account/security/")

    # then the session ends, however recent the last request
    assert response.status_code == 302
    assert response["Location"] == LOGIN_PAGE
    assert AuditEvent.objects.get(event_code=EventCode.SESSION_LIFETIME_EXPIRED).actor == (
        owner.user
    )
    assert not AuditEvent.objects.filter(event_code=EventCode.SESSION_IDLE_EXPIRED).exists()


@pytest.fixture
def member_of_a_strict_organization_too(owner):
    """The owner also works for a second organization with tighter limits."""
    strict = OrganizationFactory(idle_timeout_minutes=5, session_max_age_hours=1)
    return MembershipFactory(user=owner.user, organization=strict, role=Role.CODER)


def test_strictest_idle_timeout_wins(owner, member_of_a_strict_organization_too, login_client):
    with time_machine.travel(START, tick=False) as traveller:
        client = login_client(owner)
        traveller.move_to(minutes(5))

        assert not is_signed_in(client)

    assert AuditEvent.objects.get(event_code=EventCode.SESSION_IDLE_EXPIRED).actor == owner.user


def test_strictest_lifetime_wins(owner, member_of_a_strict_organization_too, login_client):
    with time_machine.travel(START, tick=False) as traveller:
        client = login_client(owner)
        for minute in (4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 59):
            traveller.move_to(minutes(minute))
            assert is_signed_in(client), f"signed out at minute {minute}"
        traveller.move_to(minutes(60))

        assert not is_signed_in(client)

    assert AuditEvent.objects.get(event_code=EventCode.SESSION_LIFETIME_EXPIRED).actor == (
        owner.user
    )


def test_a_deactivated_membership_no_longer_tightens_the_limits(
    owner, member_of_a_strict_organization_too, login_client
):
    strict = member_of_a_strict_organization_too
    strict.is_active = False
    strict.save(update_fields=["is_active"])
    with time_machine.travel(START, tick=False) as traveller:
        client = login_client(owner)
        traveller.move_to(minutes(14))

        assert is_signed_in(client)


def test_sign_out_everywhere_ends_every_session_of_the_person(owner, biller, login_client):
    # given the same person signed in on two computers, and a colleague signed in too
    laptop, desktop = login_client(owner), login_client(owner)
    colleague = login_client(biller)

    # when they sign out everywhere from the laptop
    response = laptop.post("/account/sessions/end-all/")

    # then both of their sessions are over, the colleague's is not, and it is on record
    assert response.status_code == 302
    assert response["Location"] == LOGIN_PAGE
    assert desktop.get("/account/security/")["Location"] == LOGIN_PAGE
    assert not is_signed_in(laptop)
    assert is_signed_in(colleague)
    ended = AuditEvent.objects.get(event_code=EventCode.SESSIONS_ENDED)
    assert (ended.actor, ended.target_type, ended.target_id) == (
        owner.user,
        "accounts.user",
        str(owner.user.pk),
    )
    owner.user.refresh_from_db()
    assert owner.user.session_generation == 1
    # and signing in again works
    assert is_signed_in(login_client(owner))


def test_sign_out_everywhere_needs_a_post(owner, login_client):
    client = login_client(owner)

    response = client.get("/account/sessions/end-all/")

    assert response.status_code == 405
    assert is_signed_in(client)
    assert not AuditEvent.objects.filter(event_code=EventCode.SESSIONS_ENDED).exists()


def deactivate(owner_client: HttpClient, member) -> None:
    response = owner_client.post(f"/o/synthetic-billing/members/{member.pk}/deactivate/")
    assert response.status_code == 302


def change_role(owner_client: HttpClient, member) -> None:
    response = owner_client.post(
        f"/o/synthetic-billing/members/{member.pk}/", {"role": Role.CODER.value, "clients": []}
    )
    assert response.status_code == 302, response.content[:300]


ACCESS_CHANGES = [
    ("deactivation", deactivate, EventCode.MEMBER_DEACTIVATED, "deactivated"),
    ("role change", change_role, EventCode.MEMBER_ROLE_CHANGED, "role_changed"),
]


@pytest.mark.parametrize(
    ("_case", "change", "change_event", "revoke_reason"),
    ACCESS_CHANGES,
    ids=[c[0] for c in ACCESS_CHANGES],
)
def test_access_change_ends_the_members_sessions_and_tokens_at_once(
    owner, biller, login_client, _case, change, change_event, revoke_reason
):
    # given a member signed in with a working API token
    member_client = login_client(biller)
    token, raw = services.api_token_create(
        actor=biller, name="nightly", scopes=[Capability.DASHBOARD_VIEW.value], days=30
    )
    bearer = {"Authorization": f"Bearer {raw}"}
    assert HttpClient().get("/api/v1/me", headers=bearer).status_code == 200
    owner_client = login_client(owner)
    reauthenticate(owner_client)

    # when an owner changes their access
    change(owner_client, biller)

    # then their session and their token stop working on the very next request
    response = member_client.get("/account/security/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN_PAGE
    assert HttpClient().get("/api/v1/me", headers=bearer).status_code == 401
    assert is_signed_in(owner_client)
    token = ApiToken.objects.get(pk=token.pk)
    assert token.revoked_at is not None
    # and each step is on record
    assert AuditEvent.objects.get(event_code=change_event).target_id == str(biller.pk)
    ended = AuditEvent.objects.get(event_code=EventCode.SESSIONS_ENDED)
    assert (ended.actor, ended.organization, ended.target_id) == (
        owner.user,
        owner.organization,
        str(biller.user.pk),
    )
    revoked = AuditEvent.objects.get(event_code=EventCode.API_TOKEN_REVOKED)
    assert (revoked.target_id, revoked.data) == (str(token.pk), {"reason": revoke_reason})
