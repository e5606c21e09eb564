"""Reads for a user: fetch, authorize, and answer 404 to strangers."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from phiwarden.accounts.models import ApiToken, Client, Invitation, Membership, User
from phiwarden.accounts.roles import Capability
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.services import audit_event_record


def membership_get_for_user(*, user: User, organization_slug: str) -> Membership:
    """The user's active membership in the organization, or 404 (never 403) for strangers."""
    try:
        return (
            Membership.objects.active()
            .select_related("organization", "user")
            .get(user=user, organization__slug=organization_slug)
        )
    except Membership.DoesNotExist:
        raise Http404 from None


def capability_require(membership: Membership, capability: Capability) -> None:
    """403 for a member whose role lacks the capability; the refusal is itself audited."""
    if not membership.can(capability):
        audit_event_record(
            actor=membership.user,
            organization=membership.organization,
            event_code=EventCode.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            data={"capability": capability.value},
        )
        raise PermissionDenied


def memberships_list_for_user(*, membership: Membership) -> QuerySet[Membership]:
    capability_require(membership, Capability.MEMBERS_VIEW)
    return (
        Membership.objects.for_organization(membership.organization)
        .select_related("user")
        .prefetch_related("clients")
        .order_by("-is_active", "user__email")
    )


def membership_get_for_manager(*, membership: Membership, member_id: int) -> Membership:
    capability_require(membership, Capability.MEMBERS_MANAGE)
    try:
        return (
            Membership.objects.for_organization(membership.organization)
            .select_related("user")
            .get(pk=member_id)
        )
    except Membership.DoesNotExist:
        raise Http404 from None


def invitations_pending_for_user(*, membership: Membership) -> QuerySet[Invitation]:
    capability_require(membership, Capability.MEMBERS_MANAGE)
    return Invitation.objects.for_organization(membership.organization).pending()


def invitation_get_for_manager(*, membership: Membership, invitation_id: int) -> Invitation:
    capability_require(membership, Capability.MEMBERS_MANAGE)
    try:
        return Invitation.objects.for_organization(membership.organization).get(pk=invitation_id)
    except Invitation.DoesNotExist:
        raise Http404 from None


def clients_list_for_user(*, membership: Membership) -> QuerySet[Client]:
    capability_require(membership, Capability.CLIENTS_VIEW)
    clients = Client.objects.for_organization(membership.organization)
    if membership.reaches_all_clients or membership.can(Capability.CLIENTS_MANAGE):
        return clients
    return clients.filter(assigned_memberships=membership)


def api_tokens_list_for_user(*, membership: Membership) -> QuerySet[ApiToken]:
    capability_require(membership, Capability.API_TOKENS_USE)
    return ApiToken.objects.filter(membership=membership).order_by("-created_at")


def api_token_get_for_user(*, membership: Membership, token_id: int) -> ApiToken:
    try:
        return api_tokens_list_for_user(membership=membership).get(pk=token_id)
    except ApiToken.DoesNotExist:
        raise Http404 from None


def organizations_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.active()
        .filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )
