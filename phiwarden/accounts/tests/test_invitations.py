"""Invitations: the only way in (45 CFR 164.308(a)(4)(ii)(B) access authorization).

A link is single use, expires after INVITATION_VALID_DAYS and can be revoked; accepting
creates the account with a policy-compliant password (or joins an existing account that
signs in with the invited address); only owners grant the owner and officer roles.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client as HttpClient

from phiwarden.accounts import services
from phiwarden.accounts.models import Invitation, Membership, User
from phiwarden.accounts.roles import Role
from phiwarden.accounts.tests.factories import is_signed_in, reauthenticate
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITE_URL = "https://phiwarden.example.test"
NEWCOMER = "newcomer@example.test"
GOOD_PASSWORD = "quiet harbor lantern morning"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth's per-IP log-in rate limits live in the cache; start and leave it empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE_URL


def invite(actor: Membership, email: str = NEWCOMER, role: Role = Role.CODER) -> str:
    """Invite through the service; returns the raw token (what the e-mail carries)."""
    _, raw = services.invitation_create(actor=actor, email=email, role=role)
    return raw


def accept_as_newcomer(client: HttpClient, raw: str, password: str = GOOD_PASSWORD, **extra):
    data = {"full_name": "Synthetic Newcomer", "password": password, "password_again": password}
    return client.post(f"/invitations/{raw}/", {**data, **extra})


# --- Sending -------------------------------------------------------------


def test_invitation_is_e_mailed_with_its_link_and_audited(
    owner, login_client, django_capture_on_commit_callbacks
):
    # given an owner who has confirmed their password
    client = login_client(owner)
    reauthenticate(client)

    # when they invite someone
    with time_machine.travel(START, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/o/synthetic-billing/members/invite/",
            {"email": "NewComer@Example.test", "role": Role.CODER.value},
        )

    # then one e-mail carries a link that works once, and only its hash is stored
    assert response.status_code == 302
    assert response["Location"] == "/o/synthetic-billing/members/"
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        NEWCOMER,
        Role.CODER,
        owner.user,
    )
    assert invitation.expires_at == START + timedelta(days=7)
    [message] = mail.outbox
    assert message.to == [NEWCOMER]
    assert message.subject == "You are invited to Synthetic Billing on PHI Warden"
    [link] = re.findall(r"https://\S+", str(message.body))
    raw = link.removeprefix(f"{SITE_URL}/invitations/").removesuffix("/")
    assert link == f"{SITE_URL}/invitations/{raw}/"
    assert invitation.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert "within 7 days" in message.body
    sent = AuditEvent.objects.get(event_code=EventCode.INVITATION_SENT)
    assert (sent.actor, sent.organization, sent.target_id, sent.data) == (
        owner.user,
        owner.organization,
        str(invitation.pk),
        {"role": Role.CODER.value},
    )


def test_inviting_a_current_member_is_refused(owner, biller):
    with pytest.raises(ValidationError) as refused:
        invite(owner, email=biller.user.email)

    assert refused.value.message_dict == {"email": ["This person is already a member."]}
    assert not Invitation.objects.exists()


OFFICER_ROLES = [Role.OWNER, Role.PRIVACY_OFFICER, Role.SECURITY_OFFICER]


@pytest.mark.parametrize("role", OFFICER_ROLES, ids=[r.value for r in OFFICER_ROLES])
def test_only_owners_grant_owner_and_officer_roles(
    owner, privacy_officer, django_capture_on_commit_callbacks, role
):
    # when a privacy officer tries, nothing is created, sent or recorded
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        invite(privacy_officer, role=role)
    assert not Invitation.objects.exists()
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(event_code=EventCode.INVITATION_SENT).exists()

    # and when an owner does, it works
    invite(owner, role=role)
    assert Invitation.objects.get().role == role


def test_officer_form_does_not_offer_owner_roles(privacy_officer, login_client):
    client = login_client(privacy_officer)
    reauthenticate(client)

    page = client.get("/o/synthetic-billing/members/invite/")
    response = client.post(
        "/o/synthetic-billing/members/invite/", {"email": NEWCOMER, "role": Role.OWNER.value}
    )

    offered = {value for value, _ in page.context["form"].fields["role"].choices}
    assert offered == set(Role.values) - {r.value for r in OFFICER_ROLES}
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "role": ["Select a valid choice. owner is not one of the available choices."]
    }
    assert not Invitation.objects.exists()


def test_members_who_cannot_manage_members_get_403(biller, login_client):
    client = login_client(biller)

    response = client.get("/o/synthetic-billing/members/invite/")

    assert response.status_code == 403
    assert AuditEvent.objects.get(event_code=EventCode.ACCESS_DENIED).data == {
        "capability": "org.manage_members"
    }


# --- Accepting as a new person ------------------------------------------


def test_accepting_creates_the_account_and_signs_in(owner):
    # given an invitation
    raw = invite(owner)
    client = HttpClient()
    page = client.get(f"/invitations/{raw}/")
    assert page.status_code == 200
    assert b"Join Synthetic Billing" in page.content

    # when the newcomer accepts with a good password
    response = accept_as_newcomer(client, raw)

    # then they have an account, a membership in the invited role, and a session
    assert response.status_code == 302
    assert response["Location"] == "/o/synthetic-billing/"
    user = User.objects.get(email=NEWCOMER)
    assert user.full_name == "Synthetic Newcomer"
    assert user.check_password(GOOD_PASSWORD)
    membership = Membership.objects.get(user=user)
    assert (membership.organization, membership.role) == (owner.organization, Role.CODER)
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None
    assert is_signed_in(client)
    accepted = AuditEvent.objects.get(event_code=EventCode.INVITATION_ACCEPTED)
    assert (accepted.actor, accepted.target_id, accepted.data) == (
        user,
        str(membership.pk),
        {"invitation_id": invitation.pk, "role": Role.CODER.value},
    )
    assert AuditEvent.objects.get(event_code=EventCode.LOGIN_SUCCEEDED).actor == user


def test_link_works_once(owner):
    raw = invite(owner)
    assert accept_as_newcomer(HttpClient(), raw).status_code == 302

    again = HttpClient()
    page = again.get(f"/invitations/{raw}/")
    post = accept_as_newcomer(again, raw, full_name="Someone Else")

    assert (page.status_code, post.status_code) == (404, 404)
    assert User.objects.filter(email=NEWCOMER).count() == 1
    assert AuditEvent.objects.filter(event_code=EventCode.INVITATION_ACCEPTED).count() == 1


EXPIRY_CASES = [
    ("a second before seven days", timedelta(days=7) - timedelta(seconds=1), 200),
    ("at seven days", timedelta(days=7), 404),
]


@pytest.mark.parametrize(
    ("_case", "elapsed", "status"), EXPIRY_CASES, ids=[c[0] for c in EXPIRY_CASES]
)
def test_link_expires_after_the_configured_days(owner, settings, _case, elapsed, status):
    assert settings.INVITATION_VALID_DAYS == 7
    with time_machine.travel(START, tick=False) as traveller:
        raw = invite(owner)
        traveller.shift(elapsed)

        response = HttpClient().get(f"/invitations/{raw}/")

    assert response.status_code == status


def test_expired_link_cannot_be_accepted(owner):
    with time_machine.travel(START, tick=False) as traveller:
        raw = invite(owner)
        traveller.shift(timedelta(days=8))

        response = accept_as_newcomer(HttpClient(), raw)

    assert response.status_code == 404
    assert not User.objects.filter(email=NEWCOMER).exists()


def test_revoked_link_is_dead(owner, login_client):
    # given an invitation that an owner revokes from the member list
    raw = invite(owner)
    invitation = Invitation.objects.get()
    response = login_client(owner).post(f"/o/synthetic-billing/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302

    # when the link is opened
    page = HttpClient().get(f"/invitations/{raw}/")

    # then it shows the same answer as any invalid link, and the revocation is on record
    assert page.status_code == 404
    assert AuditEvent.objects.get(event_code=EventCode.INVITATION_REVOKED).target_id == str(
        invitation.pk
    )
    assert HttpClient().get("/invitations/not-a-real-token/").status_code == 404


WEAK = [
    (
        "too short",
        "short pass",
        "This password is too short. It must contain at least 12 characters.",
    ),
    ("common", "finalfantasy", "This password is too common."),
    ("sequence", "abcdefghijklm", "This password is a keyboard or alphabet sequence."),
]


@pytest.mark.parametrize(("_case", "password", "message"), WEAK, ids=[c[0] for c in WEAK])
def test_weak_password_is_refused_clearly_and_nothing_is_created(owner, _case, password, message):
    raw = invite(owner)
    client = HttpClient()

    response = accept_as_newcomer(client, raw, password=password)

    assert response.status_code == 200
    assert message in response.context["form"].errors["password"]
    assert message.encode() in response.content
    assert not User.objects.filter(email=NEWCOMER).exists()
    assert Invitation.objects.get().accepted_at is None
    assert not AuditEvent.objects.filter(event_code=EventCode.INVITATION_ACCEPTED).exists()
    assert not is_signed_in(client)


def test_passwords_that_differ_are_refused(owner):
    raw = invite(owner)

    response = accept_as_newcomer(HttpClient(), raw, password_again="quiet harbor lantern evening")

    assert response.status_code == 200
    assert response.context["form"].errors == {"password_again": ["The two passwords differ."]}
    assert not User.objects.filter(email=NEWCOMER).exists()


# --- Accepting as someone who already has an account --------------------


def test_existing_account_must_sign_in_first(owner, outsider):
    raw = invite(owner, email=outsider.user.email)

    response = HttpClient().get(f"/invitations/{raw}/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/invitations/{raw}/"
    assert Membership.objects.filter(user=outsider.user).count() == 1


def test_signed_in_invitee_joins_with_their_account(owner, outsider, login_client):
    raw = invite(owner, email=outsider.user.email, role=Role.AUDITOR)
    client = login_client(outsider)

    response = client.post(f"/invitations/{raw}/")

    assert response.status_code == 302
    assert response["Location"] == "/o/synthetic-billing/"
    joined = Membership.objects.get(user=outsider.user, organization=owner.organization)
    assert joined.role == Role.AUDITOR
    assert AuditEvent.objects.get(event_code=EventCode.INVITATION_ACCEPTED).actor == outsider.user


def test_signed_in_person_with_another_address_cannot_accept(owner, outsider, login_client):
    raw = invite(owner)
    client = login_client(outsider)

    response = client.post(f"/invitations/{raw}/", follow=True)

    assert response.status_code == 200
    assert "This invitation was sent to another address." in [
        str(m) for m in response.context["messages"]
    ]
    assert not Membership.objects.filter(
        user=outsider.user, organization=owner.organization
    ).exists()
    assert Invitation.objects.get().is_usable()
    assert not AuditEvent.objects.filter(event_code=EventCode.INVITATION_ACCEPTED).exists()


def test_service_refuses_a_new_account_for_an_existing_address(owner, outsider):
    raw = invite(owner, email=outsider.user.email)

    with pytest.raises(ValidationError):
        services.invitation_accept(token=raw, user=None, full_name="X", password=GOOD_PASSWORD)

    assert not Membership.objects.filter(
        user=outsider.user, organization=owner.organization
    ).exists()
