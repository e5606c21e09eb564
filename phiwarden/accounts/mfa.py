"""Questions about a user's multi-factor authentication (45 CFR 164.312(d))."""

from __future__ import annotations

from allauth.mfa.models import Authenticator

from phiwarden.accounts.models import Membership, Organization, User

# Recovery codes alone are a fallback, not a second factor.
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def has_second_factor(user: User) -> bool:
    return bool(Authenticator.objects.filter(user=user, type__in=SECOND_FACTOR_TYPES).exists())


def organization_requires_mfa(user: User) -> bool:
    return bool(
        Membership.objects.active().filter(user=user, organization__mfa_required=True).exists()
    )


def enrollment_required(user: User) -> bool:
    """Members of MFA-requiring organizations, and operators (staff) always, need a second
    factor before anything else: the ops admin must not be reachable with a password alone."""
    needs = user.is_staff or organization_requires_mfa(user)
    return needs and not has_second_factor(user)


def users_with_mfa(organization: Organization) -> set[int]:
    """Ids of the organization's active members who have a second factor."""
    member_ids = Membership.objects.active().for_organization(organization).values("user_id")
    return set(
        Authenticator.objects.filter(user_id__in=member_ids, type__in=SECOND_FACTOR_TYPES)
        .values_list("user_id", flat=True)
        .distinct()
    )
