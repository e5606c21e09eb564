from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from phiwarden.accounts import selectors
from phiwarden.accounts.api_auth import token_require
from phiwarden.accounts.mfa import users_with_mfa
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.schemas import MemberOut, MeOut

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    token = token_require(request, Capability.DASHBOARD_VIEW)
    membership = token.membership
    return MeOut(
        email=membership.user.email,
        organization=membership.organization.slug,
        organization_name=membership.organization.name,
        role=membership.role,
        token_name=token.name,
        token_expires_at=token.expires_at,
        capabilities=sorted(c.value for c in token.effective_capabilities),
    )


@router.get("/members", response=list[MemberOut])
def members(request: HttpRequest) -> list[MemberOut]:
    token = token_require(request, Capability.MEMBERS_VIEW)
    memberships = selectors.memberships_list_for_user(membership=token.membership)
    with_mfa = users_with_mfa(token.organization)
    return [
        MemberOut(
            id=m.pk,
            email=m.user.email,
            full_name=m.user.full_name,
            role=m.role,
            is_active=m.is_active,
            has_mfa=m.user_id in with_mfa,
            client_ids=[c.pk for c in m.clients.all()],
        )
        for m in memberships
    ]
