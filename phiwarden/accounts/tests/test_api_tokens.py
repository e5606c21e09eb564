"""Personal API tokens: shown once, stored hashed, scoped within the role, expiring, revocable.

Every refusal of a token that names a real token is audited (45 CFR 164.312(b), (d)).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.utils import timezone

from phiwarden.accounts import services
from phiwarden.accounts.models import ApiToken, Membership, User
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.tests.factories import reauthenticate
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NEW_TOKEN = "/o/synthetic-billing/tokens/new/"
RAW_TOKEN = re.compile(rb"phw_[0-9a-f]{12}_[A-Za-z0-9_\-]{43}")
DASHBOARD = Capability.DASHBOARD_VIEW.value
MEMBERS = Capability.MEMBERS_VIEW.value


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth's per-IP log-in rate limits live in the cache; start and leave it empty."""
    cache.clear()
    yield
    cache.clear()


def make_token(membership: Membership, scopes: list[str], days: int = 30) -> tuple[ApiToken, str]:
    return services.api_token_create(actor=membership, name="script", scopes=scopes, days=days)


def call(raw: str, path: str = "/api/v1/me"):
    return HttpClient().get(path, headers={"Authorization": f"Bearer {raw}"})


# --- Creation ------------------------------------------------------------


def test_token_made_in_the_ui_is_shown_once_and_only_its_hash_is_kept(biller, login_client):
    with time_machine.travel(START, tick=False):
        # given a member who has just confirmed their password
        client = login_client(biller)
        reauthenticate(client)
        scopes = [Capability.CLIENTS_VIEW.value, DASHBOARD]

        # when they create a token
        response = client.post(NEW_TOKEN, {"name": "nightly export", "scopes": scopes, "days": 30})
        listing = client.get("/o/synthetic-billing/tokens/")

    # then the page shows it once and must not be cached
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    [raw] = RAW_TOKEN.findall(response.content)
    _, prefix, secret = raw.decode().split("_", 2)
    # and the database holds the public prefix and the SHA-256 of the token, never the token
    token = ApiToken.objects.get()
    assert token.prefix == prefix
    assert token.secret_hash == hashlib.sha256(raw).hexdigest()
    assert (token.name, token.scopes, token.membership) == ("nightly export", scopes, biller)
    assert token.expires_at == START + timedelta(days=30)
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(secret in str(value) for value in stored.values())
    created = AuditEvent.objects.get(event_code=EventCode.API_TOKEN_CREATED)
    assert (created.actor, created.target_id, created.data) == (
        biller.user,
        str(token.pk),
        {"scopes": scopes, "days": 30},
    )
    # and the list names the token by its prefix but never shows it again
    assert listing.status_code == 200
    assert prefix.encode() in listing.content
    assert raw not in listing.content


def test_token_from_the_ui_works_on_the_api(biller, login_client):
    client = login_client(biller)
    reauthenticate(client)
    response = client.post(NEW_TOKEN, {"name": "script", "scopes": [DASHBOARD], "days": 7})
    [raw] = RAW_TOKEN.findall(response.content)

    answer = call(raw.decode())

    assert answer.status_code == 200
    assert answer.json()["email"] == biller.user.email
    assert answer.json()["capabilities"] == [DASHBOARD]


def test_token_creation_asks_for_the_password_again(biller, login_client):
    client = login_client(biller)

    response = client.post(NEW_TOKEN, {"name": "script", "scopes": [DASHBOARD], "days": 7})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not ApiToken.objects.exists()


BEYOND_ROLE = [
    ("manage members", Capability.MEMBERS_MANAGE.value),
    ("export billing data", Capability.BILLING_EXPORT.value),
    ("view the audit trail", Capability.AUDIT_VIEW.value),
    ("unknown capability", "billing.everything"),
]


@pytest.mark.parametrize(("_case", "scope"), BEYOND_ROLE, ids=[c[0] for c in BEYOND_ROLE])
def test_ui_refuses_scopes_beyond_the_role(biller, login_client, _case, scope):
    client = login_client(biller)
    reauthenticate(client)

    response = client.post(NEW_TOKEN, {"name": "too much", "scopes": [DASHBOARD, scope], "days": 7})

    assert response.status_code == 200
    assert response.context["form"].errors["scopes"] == [
        f"Select a valid choice. {scope} is not one of the available choices."
    ]
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(event_code=EventCode.API_TOKEN_CREATED).exists()


@pytest.mark.parametrize(("_case", "scope"), BEYOND_ROLE, ids=[c[0] for c in BEYOND_ROLE])
def test_service_refuses_scopes_beyond_the_role(biller, _case, scope):
    with pytest.raises(ValidationError) as refused:
        make_token(biller, [DASHBOARD, scope])

    assert refused.value.message_dict == {
        "scopes": ["A token cannot hold capabilities your role lacks."]
    }
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("_case", "days"), [("zero days", 0), ("over the maximum", 366)], ids=["0", "366"]
)
def test_service_refuses_lifetimes_outside_the_bounds(biller, settings, _case, days):
    assert settings.API_TOKEN_MAX_DAYS == 365

    with pytest.raises(ValidationError):
        make_token(biller, [DASHBOARD], days=days)

    assert not ApiToken.objects.exists()


def test_members_whose_role_has_no_api_access_cannot_open_tokens(workforce_member, login_client):
    response = login_client(workforce_member).get("/o/synthetic-billing/tokens/")

    assert response.status_code == 403
    denied = AuditEvent.objects.get(event_code=EventCode.ACCESS_DENIED)
    assert denied.data == {"capability": Capability.API_TOKENS_USE.value}


# --- Use -----------------------------------------------------------------


EXPIRY_CASES = [
    ("a second before expiry", timedelta(days=1) - timedelta(seconds=1), 200),
    ("at expiry", timedelta(days=1), 401),
    ("a month later", timedelta(days=31), 401),
]


@pytest.mark.parametrize(
    ("_case", "elapsed", "status"), EXPIRY_CASES, ids=[c[0] for c in EXPIRY_CASES]
)
def test_token_expires(biller, _case, elapsed, status):
    with time_machine.travel(START, tick=False) as traveller:
        token, raw = make_token(biller, [DASHBOARD], days=1)
        traveller.shift(elapsed)

        response = call(raw)

    assert response.status_code == status
    refused = AuditEvent.objects.filter(event_code=EventCode.API_TOKEN_REFUSED)
    assert refused.exists() is (status == 401)
    if status == 401:
        event = refused.get()
        assert (event.outcome, event.target_id, event.api_token_prefix, event.data) == (
            Outcome.DENIED,
            str(token.pk),
            token.prefix,
            {"reason": "expired"},
        )
        assert (event.actor, event.organization) == (biller.user, biller.organization)


def test_revoked_token_is_refused_and_audited(biller, login_client):
    # given a token its owner revokes from the UI
    token, raw = make_token(biller, [DASHBOARD])
    assert call(raw).status_code == 200
    response = login_client(biller).post(f"/o/synthetic-billing/tokens/{token.pk}/revoke/")
    assert response.status_code == 302

    # when it is used again
    answer = call(raw)

    # then it is refused, and both the revocation and the refusal are on record
    assert answer.status_code == 401
    revoked = AuditEvent.objects.get(event_code=EventCode.API_TOKEN_REVOKED)
    assert (revoked.actor, revoked.data) == (biller.user, {"reason": "requested"})
    refused = AuditEvent.objects.get(event_code=EventCode.API_TOKEN_REFUSED)
    assert (refused.target_id, refused.data) == (str(token.pk), {"reason": "revoked"})


def test_scope_missing_gives_403_and_is_audited(owner):
    # given an owner's token scoped to the dashboard only
    token, raw = make_token(owner, [DASHBOARD])

    # when it asks for the member list, which its owner's role could see
    response = call(raw, "/api/v1/members")

    # then the token's scope decides, and the refusal is recorded
    assert response.status_code == 403
    assert response.json() == {"detail": "Not allowed"}
    denied = AuditEvent.objects.get(event_code=EventCode.ACCESS_DENIED)
    assert (denied.outcome, denied.api_token_prefix, denied.data) == (
        Outcome.DENIED,
        token.prefix,
        {"capability": MEMBERS},
    )
    assert (denied.actor, denied.organization) == (owner.user, owner.organization)


BAD_TOKENS = [
    ("no header", None),
    ("not our format", "Bearer abc"),
    ("unknown prefix", "Bearer phw_000000000000_" + "x" * 43),
    # shapes no token can have never reach SQL (a NUL is refused by PostgreSQL as an error)
    ("NUL in the prefix", "Bearer phw_0000\x0000000_" + "x" * 43),
    ("non-ASCII prefix", "Bearer phw_00000000000é_" + "x" * 43),
    ("overlong prefix", "Bearer phw_" + "0" * 17 + "_" + "x" * 43),
    ("non-ASCII secret", "Bearer phw_000000000000_" + "é" * 43),
]


@pytest.mark.parametrize(("_case", "header"), BAD_TOKENS, ids=[c[0] for c in BAD_TOKENS])
def test_missing_or_malformed_token_gives_401(db, _case, header):
    headers = {"Authorization": header} if header else {}

    response = HttpClient().get("/api/v1/me", headers=headers)

    assert response.status_code == 401


def test_wrong_secret_for_a_real_prefix_gives_401(biller):
    token, raw = make_token(biller, [DASHBOARD])

    response = call(f"phw_{token.prefix}_" + "x" * 43)

    assert response.status_code == 401
    assert call(raw).status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute(biller):
    with time_machine.travel(START, tick=False) as traveller:
        token, raw = make_token(biller, [DASHBOARD])
        assert token.last_used_at is None

        call(raw)
        token.refresh_from_db()
        assert token.last_used_at == START

        traveller.shift(timedelta(seconds=60))
        call(raw)
        token.refresh_from_db()
        assert token.last_used_at == START

        traveller.shift(timedelta(seconds=1))
        call(raw)
        token.refresh_from_db()
        assert token.last_used_at == START + timedelta(seconds=61)


# --- Tokens follow their member ------------------------------------------


def test_token_capabilities_shrink_at_once_when_the_role_shrinks(auditor):
    # given an auditor's token that may read the member list
    token, raw = make_token(auditor, [DASHBOARD, MEMBERS])
    assert call(raw, "/api/v1/members").status_code == 200

    # when the role changes underneath it (even without the service that revokes tokens)
    Membership.objects.filter(pk=auditor.pk).update(role=Role.WORKFORCE_MEMBER)

    # then the token keeps only what the new role allows
    assert call(raw, "/api/v1/members").status_code == 403
    assert call(raw).json()["capabilities"] == [DASHBOARD]
    token = ApiToken.objects.select_related("membership__user").get(pk=token.pk)
    assert token.effective_capabilities == frozenset({Capability.DASHBOARD_VIEW})


def test_role_change_through_the_service_revokes_the_token(owner, auditor):
    token, raw = make_token(auditor, [DASHBOARD, MEMBERS])

    services.membership_change_role(actor=owner, membership=auditor, role=Role.WORKFORCE_MEMBER)

    assert call(raw).status_code == 401
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    refused = AuditEvent.objects.get(event_code=EventCode.API_TOKEN_REFUSED)
    assert refused.data == {"reason": "revoked"}


def test_deactivated_members_token_fails(owner, biller):
    token, raw = make_token(biller, [DASHBOARD])

    services.membership_deactivate(actor=owner, membership=biller)

    assert call(raw).status_code == 401
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    revoked = AuditEvent.objects.get(event_code=EventCode.API_TOKEN_REVOKED)
    assert (revoked.actor, revoked.data) == (owner.user, {"reason": "deactivated"})


def set_membership_inactive(membership: Membership) -> None:
    Membership.objects.filter(pk=membership.pk).update(
        is_active=False, deactivated_at=timezone.now()
    )


def set_user_inactive(membership: Membership) -> None:
    User.objects.filter(pk=membership.user_id).update(is_active=False)


INACTIVE_CASES = [
    ("membership inactive", set_membership_inactive),
    ("user inactive", set_user_inactive),
]


@pytest.mark.parametrize(("_case", "make_inactive"), INACTIVE_CASES, ids=["membership", "user"])
def test_token_of_an_inactive_member_fails_even_if_not_revoked(biller, _case, make_inactive):
    token, raw = make_token(biller, [DASHBOARD])

    make_inactive(biller)

    assert call(raw).status_code == 401
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    refused = AuditEvent.objects.get(event_code=EventCode.API_TOKEN_REFUSED)
    assert refused.data == {"reason": "inactive"}
