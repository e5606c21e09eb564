"""Writes for accounts: every change validates, saves, and records its audit event together."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import (
    ApiToken,
    Client,
    Invitation,
    Membership,
    Organization,
    User,
    hash_token,
)
from phiwarden.accounts.roles import ROLES_ONLY_OWNERS_GRANT, Capability, Role
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record

# --- Sessions ------------------------------------------------------------


def user_sessions_end(*, actor: User | None, user: User, organization: Organization | None) -> None:
    """End every session of `user` at once ("log out everywhere")."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
        user.refresh_from_db(fields=["session_generation"])
        audit_event_record(
            actor=actor,
            organization=organization,
            event_code=EventCode.SESSIONS_ENDED,
            target=user,
        )


# --- Organizations and clients -------------------------------------------


def organization_security_update(
    *,
    actor: Membership,
    mfa_required: bool,
    idle_timeout_minutes: int,
    session_max_age_hours: int,
) -> Organization:
    capability_require(actor, Capability.SECURITY_SETTINGS_MANAGE)
    organization = actor.organization
    if not 1 <= idle_timeout_minutes <= 120:
        raise ValidationError({"idle_timeout_minutes": "Choose between 1 and 120 minutes."})
    if not 1 <= session_max_age_hours <= 24:
        raise ValidationError({"session_max_age_hours": "Choose between 1 and 24 hours."})
    before = {
        "mfa_required": organization.mfa_required,
        "idle_timeout_minutes": organization.idle_timeout_minutes,
        "session_max_age_hours": organization.session_max_age_hours,
    }
    organization.mfa_required = mfa_required
    organization.idle_timeout_minutes = idle_timeout_minutes
    organization.session_max_age_hours = session_max_age_hours
    with transaction.atomic():
        organization.save(update_fields=[*before, "updated_at"])
        audit_event_record(
            actor=actor.user,
            organization=organization,
            event_code=EventCode.ORG_SECURITY_CHANGED,
            target=organization,
            data={
                **{f"old_{k}": v for k, v in before.items()},
                "mfa_required": mfa_required,
                "idle_timeout_minutes": idle_timeout_minutes,
                "session_max_age_hours": session_max_age_hours,
            },
        )
    return organization


def client_create(*, actor: Membership, name: str) -> Client:
    capability_require(actor, Capability.CLIENTS_MANAGE)
    with transaction.atomic():
        client = Client.objects.create(organization=actor.organization, name=name.strip())
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.CLIENT_CREATED,
            target=client,
        )
    return client


# --- Invitations ---------------------------------------------------------


def _check_may_grant(actor: Membership, role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": "Unknown role."})
    if role in ROLES_ONLY_OWNERS_GRANT and actor.role != Role.OWNER:
        raise PermissionDenied


def invitation_create(*, actor: Membership, email: str, role: str) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link; returns the invitation and the raw token."""
    capability_require(actor, Capability.MEMBERS_MANAGE)
    _check_may_grant(actor, role)
    address = email.strip().lower()
    already = Membership.objects.for_organization(actor.organization).filter(user__email=address)
    if already.exists():
        raise ValidationError({"email": "This person is already a member."})
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            organization=actor.organization,
            email=address,
            role=role,
            token_hash=hash_token(raw),
            invited_by=actor.user,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
        )
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INVITATION_SENT,
            target=invitation,
            data={"role": role},
        )
        link = settings.SITE_URL.rstrip("/") + reverse("invitation-accept", args=[raw])
        organization_name = actor.organization.name
        transaction.on_commit(
            lambda: send_mail(
                subject=f"You are invited to {organization_name} on PHI Warden",
                message=(
                    f"You have been invited to join {organization_name} on PHI Warden.\n\n"
                    f"Open this link within {settings.INVITATION_VALID_DAYS} days to accept. "
                    f"It works once.\n\n{link}\n"
                ),
                from_email=None,
                recipient_list=[address],
            )
        )
    return invitation, raw


def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    capability_require(actor, Capability.MEMBERS_MANAGE)
    if invitation.organization_id != actor.organization_id:
        raise PermissionDenied
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INVITATION_REVOKED,
            target=invitation,
        )


class InvitationInvalid(Exception):
    """The link is unknown, used, revoked or expired (the same answer for all four)."""


def invitation_find(*, token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None or not invitation.is_usable():
        raise InvitationInvalid
    return invitation


def invitation_accept(
    *, token: str, user: User | None, full_name: str = "", password: str = ""
) -> Membership:
    """Join the organization. An existing user must be the invited address; a new one sets a
    password that meets the policy. Single use: the row is locked while it is consumed."""
    with transaction.atomic():
        invitation = invitation_find(token=token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_usable():
            raise InvitationInvalid
        if user is None:
            if User.objects.filter(email=invitation.email).exists():
                raise ValidationError("Sign in with the invited address first, then open the link.")
            candidate = User(email=invitation.email, full_name=full_name.strip())
            validate_password(password, user=candidate)
            candidate.set_password(password)
            candidate.save()
            user = candidate
        elif user.email != invitation.email:
            raise ValidationError("This invitation was sent to another address.")
        membership, created = Membership.objects.get_or_create(
            user=user,
            organization=invitation.organization,
            defaults={"role": invitation.role},
        )
        if not created:
            membership.role = invitation.role
            membership.is_active = True
            membership.deactivated_at = None
            membership.save(update_fields=["role", "is_active", "deactivated_at", "updated_at"])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
        audit_event_record(
            actor=user,
            organization=invitation.organization,
            event_code=EventCode.INVITATION_ACCEPTED,
            target=membership,
            data={"invitation_id": invitation.pk, "role": invitation.role},
        )
    return membership


# --- Memberships ---------------------------------------------------------


def _is_last_owner(membership: Membership) -> bool:
    if membership.role != Role.OWNER or not membership.is_active:
        return False
    owners = Membership.objects.for_organization(membership.organization).active()
    return not owners.filter(role=Role.OWNER).exclude(pk=membership.pk).exists()


def _end_sessions_inside(*, actor: Membership, membership: Membership) -> None:
    User.objects.filter(pk=membership.user_id).update(
        session_generation=F("session_generation") + 1
    )
    audit_event_record(
        actor=actor.user,
        organization=actor.organization,
        event_code=EventCode.SESSIONS_ENDED,
        target=membership.user,
    )


def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    """Change a member's role; their sessions end at once so the new role applies everywhere."""
    capability_require(actor, Capability.MEMBERS_MANAGE)
    if membership.organization_id != actor.organization_id:
        raise PermissionDenied
    _check_may_grant(actor, role)
    if membership.role in ROLES_ONLY_OWNERS_GRANT and actor.role != Role.OWNER:
        raise PermissionDenied
    if role == membership.role:
        return membership
    if _is_last_owner(membership):
        raise ValidationError({"role": "An organization needs at least one active owner."})
    old_role = membership.role
    with transaction.atomic():
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.MEMBER_ROLE_CHANGED,
            target=membership,
            data={"old_role": old_role, "new_role": role},
        )
        _end_sessions_inside(actor=actor, membership=membership)
        _revoke_tokens_inside(actor=actor, membership=membership, reason="role_changed")
    return membership


def membership_set_clients(
    *, actor: Membership, membership: Membership, clients: Iterable[Client]
) -> Membership:
    capability_require(actor, Capability.MEMBERS_MANAGE)
    if membership.organization_id != actor.organization_id:
        raise PermissionDenied
    chosen = list(clients)
    if any(c.organization_id != actor.organization_id for c in chosen):
        raise PermissionDenied
    before = sorted(membership.clients.values_list("pk", flat=True))
    after = sorted(c.pk for c in chosen)
    if before == after:
        return membership
    with transaction.atomic():
        membership.clients.set(chosen)
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.MEMBER_CLIENTS_CHANGED,
            target=membership,
            data={"old_client_ids": before, "new_client_ids": after},
        )
    return membership


def membership_deactivate(*, actor: Membership, membership: Membership) -> Membership:
    """Remove a member's access now: sessions end and API tokens are revoked in the same step
    (45 CFR 164.308(a)(3)(ii)(C) termination procedures)."""
    capability_require(actor, Capability.MEMBERS_MANAGE)
    if membership.organization_id != actor.organization_id:
        raise PermissionDenied
    if membership.role in ROLES_ONLY_OWNERS_GRANT and actor.role != Role.OWNER:
        raise PermissionDenied
    if membership.pk == actor.pk:
        raise ValidationError("You cannot deactivate yourself.")
    if _is_last_owner(membership):
        raise ValidationError("An organization needs at least one active owner.")
    if not membership.is_active:
        return membership
    with transaction.atomic():
        membership.is_active = False
        membership.deactivated_at = timezone.now()
        membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.MEMBER_DEACTIVATED,
            target=membership,
        )
        _end_sessions_inside(actor=actor, membership=membership)
        _revoke_tokens_inside(actor=actor, membership=membership, reason="deactivated")
    return membership


def membership_reactivate(*, actor: Membership, membership: Membership) -> Membership:
    capability_require(actor, Capability.MEMBERS_MANAGE)
    if membership.organization_id != actor.organization_id:
        raise PermissionDenied
    if membership.role in ROLES_ONLY_OWNERS_GRANT and actor.role != Role.OWNER:
        raise PermissionDenied
    if membership.is_active:
        return membership
    with transaction.atomic():
        membership.is_active = True
        membership.deactivated_at = None
        membership.save(update_fields=["is_active", "deactivated_at", "updated_at"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.MEMBER_REACTIVATED,
            target=membership,
        )
    return membership


# --- API tokens ----------------------------------------------------------


def _revoke_tokens_inside(*, actor: Membership, membership: Membership, reason: str) -> None:
    for token in ApiToken.objects.filter(membership=membership).usable():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.API_TOKEN_REVOKED,
            target=token,
            data={"reason": reason},
        )


def api_token_create(
    *, actor: Membership, name: str, scopes: Iterable[str], days: int
) -> tuple[ApiToken, str]:
    """Create a personal token; the raw value is returned once and never stored."""
    capability_require(actor, Capability.API_TOKENS_USE)
    wanted = set(scopes)
    allowed = {c.value for c in actor.capabilities}
    if not wanted:
        raise ValidationError({"scopes": "Choose at least one capability."})
    if not wanted <= allowed:
        raise ValidationError({"scopes": "A token cannot hold capabilities your role lacks."})
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise ValidationError({"days": f"Choose between 1 and {settings.API_TOKEN_MAX_DAYS} days."})
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    raw = f"{ApiToken.PREFIX}_{prefix}_{secret}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            organization=actor.organization,
            membership=actor,
            name=name.strip()[:100],
            prefix=prefix,
            secret_hash=hash_token(raw),
            scopes=sorted(wanted),
            expires_at=timezone.now() + timedelta(days=days),
        )
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.API_TOKEN_CREATED,
            target=token,
            data={"scopes": sorted(wanted), "days": days},
        )
    return token, raw


def api_token_revoke(*, actor: Membership, token: ApiToken) -> ApiToken:
    if token.membership_id != actor.pk and not actor.can(Capability.SECURITY_SETTINGS_MANAGE):
        raise PermissionDenied
    if token.organization_id != actor.organization_id:
        raise PermissionDenied
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.API_TOKEN_REVOKED,
            target=token,
            data={"reason": "requested"},
        )
    return token
