"""Membership services: the guards around roles, deactivation and client assignment
(45 CFR 164.308(a)(4)(ii)(C) access modification, 164.308(a)(3)(ii)(C) termination)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError

from phiwarden.accounts import services
from phiwarden.accounts.models import ApiToken, Client, Invitation, Membership
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.tests.factories import reauthenticate
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth's per-IP log-in rate limits live in the cache; start and leave it empty."""
    cache.clear()
    yield
    cache.clear()


def fresh(membership: Membership) -> Membership:
    return Membership.objects.get(pk=membership.pk)


# --- Owners --------------------------------------------------------------


def test_last_owner_cannot_be_demoted(owner):
    with pytest.raises(ValidationError) as refused:
        services.membership_change_role(actor=owner, membership=owner, role=Role.CODER)

    assert refused.value.message_dict == {
        "role": ["An organization needs at least one active owner."]
    }
    assert fresh(owner).role == Role.OWNER
    assert not AuditEvent.objects.exists()


def test_an_owner_may_step_down_while_another_owner_remains(owner, make_member):
    second = make_member(Role.OWNER, email="second.owner@example.test")

    services.membership_change_role(actor=owner, membership=owner, role=Role.BILLING_MANAGER)

    assert fresh(owner).role == Role.BILLING_MANAGER
    assert fresh(second).role == Role.OWNER
    changed = AuditEvent.objects.get(event_code=EventCode.MEMBER_ROLE_CHANGED)
    assert changed.data == {"old_role": "owner", "new_role": "billing_manager"}


def test_an_owner_whose_co_owner_is_inactive_is_the_last_owner(owner, make_member):
    second = make_member(Role.OWNER, email="second.owner@example.test")
    services.membership_deactivate(actor=owner, membership=second)

    with pytest.raises(ValidationError):
        services.membership_change_role(actor=owner, membership=owner, role=Role.CODER)

    assert fresh(owner).role == Role.OWNER


def test_nobody_can_deactivate_themselves(owner, make_member):
    make_member(Role.OWNER, email="second.owner@example.test")

    with pytest.raises(ValidationError) as refused:
        services.membership_deactivate(actor=owner, membership=owner)

    assert refused.value.messages == ["You cannot deactivate yourself."]
    assert fresh(owner).is_active
    assert not AuditEvent.objects.exists()


def test_privacy_officer_cannot_deactivate_themselves(privacy_officer, owner):
    """Refused before the self-check: only owners deactivate officers."""
    with pytest.raises(PermissionDenied):
        services.membership_deactivate(actor=privacy_officer, membership=privacy_officer)

    assert fresh(privacy_officer).is_active


def test_the_sole_owner_can_neither_be_demoted_nor_deactivated_by_anyone(owner, privacy_officer):
    """Officers may not touch an owner at all; the owner may not demote or remove themselves
    while they are the last one; so the organization always keeps an owner."""
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=privacy_officer, membership=owner, role=Role.CODER)
    with pytest.raises(PermissionDenied):
        services.membership_deactivate(actor=privacy_officer, membership=owner)
    with pytest.raises(ValidationError):
        services.membership_deactivate(actor=owner, membership=owner)

    assert fresh(owner).is_active
    assert fresh(owner).role == Role.OWNER


def test_owner_may_deactivate_another_owner(owner, make_member):
    second = make_member(Role.OWNER, email="second.owner@example.test")

    services.membership_deactivate(actor=owner, membership=second)

    second = fresh(second)
    assert not second.is_active
    assert second.deactivated_at is not None
    assert second.capabilities == frozenset()
    deactivated = AuditEvent.objects.get(event_code=EventCode.MEMBER_DEACTIVATED)
    assert (deactivated.actor, deactivated.target_id) == (owner.user, str(second.pk))


OFFICER_ROLES = [Role.OWNER, Role.PRIVACY_OFFICER, Role.SECURITY_OFFICER]


@pytest.mark.parametrize("role", OFFICER_ROLES, ids=[r.value for r in OFFICER_ROLES])
def test_only_owners_promote_to_owner_or_officer(owner, privacy_officer, biller, role):
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=privacy_officer, membership=biller, role=role)
    assert fresh(biller).role == Role.CLAIMS_SPECIALIST

    services.membership_change_role(actor=owner, membership=biller, role=role)
    assert fresh(biller).role == role


def test_officer_changing_an_owner_in_the_ui_gets_403(owner, privacy_officer, login_client):
    # given a privacy officer who has confirmed their password
    client = login_client(privacy_officer)
    reauthenticate(client)

    # when they try to demote the owner from the member page
    response = client.post(f"/o/synthetic-billing/members/{owner.pk}/", {"role": Role.CODER.value})

    # then the answer is 403 and nothing changed
    assert response.status_code == 403
    assert fresh(owner).role == Role.OWNER
    assert not AuditEvent.objects.filter(event_code=EventCode.MEMBER_ROLE_CHANGED).exists()
    assert not AuditEvent.objects.filter(event_code=EventCode.SESSIONS_ENDED).exists()


def test_officer_manages_ordinary_roles(privacy_officer, biller):
    services.membership_change_role(actor=privacy_officer, membership=biller, role=Role.CODER)

    assert fresh(biller).role == Role.CODER


def test_unknown_role_is_refused(owner, biller):
    with pytest.raises(ValidationError) as refused:
        services.membership_change_role(actor=owner, membership=biller, role="superuser")

    assert refused.value.message_dict == {"role": ["Unknown role."]}


def test_member_without_manage_capability_is_refused_and_audited(biller, workforce_member):
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=biller, membership=workforce_member, role=Role.CODER)

    assert fresh(workforce_member).role == Role.WORKFORCE_MEMBER
    denied = AuditEvent.objects.get(event_code=EventCode.ACCESS_DENIED)
    assert (denied.actor, denied.data) == (biller.user, {"capability": "org.manage_members"})


def test_reactivation_restores_access_but_not_tokens(owner, biller):
    token, _ = services.api_token_create(
        actor=biller, name="script", scopes=[Capability.DASHBOARD_VIEW.value], days=30
    )
    services.membership_deactivate(actor=owner, membership=biller)

    services.membership_reactivate(actor=owner, membership=fresh(biller))

    assert fresh(biller).is_active
    assert fresh(biller).deactivated_at is None
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    reactivated = AuditEvent.objects.get(event_code=EventCode.MEMBER_REACTIVATED)
    assert reactivated.target_id == str(biller.pk)


# --- Cross-organization objects -----------------------------------------


def change_role(owner, outsider, other_client):
    services.membership_change_role(actor=owner, membership=outsider, role=Role.CODER)


def deactivate(owner, outsider, other_client):
    services.membership_deactivate(actor=owner, membership=outsider)


def reactivate(owner, outsider, other_client):
    services.membership_reactivate(actor=owner, membership=outsider)


def set_their_member_clients(owner, outsider, other_client):
    services.membership_set_clients(actor=owner, membership=outsider, clients=[other_client])


def revoke_their_invitation(owner, outsider, other_client):
    invitation, _ = services.invitation_create(
        actor=outsider, email="someone@example.test", role=Role.CODER
    )
    services.invitation_revoke(actor=owner, invitation=invitation)


def revoke_their_token(owner, outsider, other_client):
    token, _ = services.api_token_create(
        actor=outsider, name="theirs", scopes=[Capability.DASHBOARD_VIEW.value], days=30
    )
    services.api_token_revoke(actor=owner, token=token)


CROSS_ORG = [
    ("change a role", change_role),
    ("deactivate", deactivate),
    ("reactivate", reactivate),
    ("set clients", set_their_member_clients),
    ("revoke an invitation", revoke_their_invitation),
    ("revoke an API token", revoke_their_token),
]


@pytest.mark.parametrize(("_case", "action"), CROSS_ORG, ids=[c[0] for c in CROSS_ORG])
def test_another_organizations_objects_are_refused(owner, outsider, _case, action):
    # given an owner of one organization and objects of another
    other_client = Client.objects.create(organization=outsider.organization, name="Their Clinic")
    before = AuditEvent.objects.filter(organization=owner.organization).count()

    # when the owner acts on them
    with pytest.raises(PermissionDenied):
        action(owner, outsider, other_client)

    # then nothing changed and nothing was recorded in the owner's organization
    outsider = fresh(outsider)
    assert (outsider.role, outsider.is_active) == (Role.OWNER, True)
    assert not outsider.clients.exists()
    assert not Invitation.objects.filter(revoked_at__isnull=False).exists()
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()
    assert AuditEvent.objects.filter(organization=owner.organization).count() == before


def test_a_client_of_another_organization_cannot_be_assigned(owner, biller, outsider):
    theirs = Client.objects.create(organization=outsider.organization, name="Their Clinic")

    with pytest.raises(PermissionDenied):
        services.membership_set_clients(actor=owner, membership=biller, clients=[theirs])

    assert list(fresh(biller).clients.values_list("name", flat=True)) == [
        "Synthetic Family Practice"
    ]
    assert not AuditEvent.objects.filter(event_code=EventCode.MEMBER_CLIENTS_CHANGED).exists()


# --- Client assignment ---------------------------------------------------


def test_client_assignment_records_old_and_new_ids(owner, biller, clients):
    first, second = clients
    assert list(biller.clients.all()) == [first]

    services.membership_set_clients(actor=owner, membership=biller, clients=[second, first])

    changed = AuditEvent.objects.get(event_code=EventCode.MEMBER_CLIENTS_CHANGED)
    assert (changed.actor, changed.target_id, changed.data) == (
        owner.user,
        str(biller.pk),
        {"old_client_ids": [first.pk], "new_client_ids": sorted([first.pk, second.pk])},
    )
    assert set(fresh(biller).clients.all()) == {first, second}


def test_clearing_clients_records_an_empty_list(owner, biller, clients):
    services.membership_set_clients(actor=owner, membership=biller, clients=[])

    changed = AuditEvent.objects.get(event_code=EventCode.MEMBER_CLIENTS_CHANGED)
    assert changed.data == {"old_client_ids": [clients[0].pk], "new_client_ids": []}
    assert not fresh(biller).clients.exists()


def test_same_clients_again_records_nothing(owner, biller, clients):
    services.membership_set_clients(actor=owner, membership=biller, clients=[clients[0]])

    assert not AuditEvent.objects.filter(event_code=EventCode.MEMBER_CLIENTS_CHANGED).exists()
