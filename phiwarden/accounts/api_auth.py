"""Bearer-token authentication for the JSON API: personal, hashed, scoped, expiring tokens."""

from __future__ import annotations

import hmac

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from phiwarden.accounts.mfa import enrollment_required
from phiwarden.accounts.models import ApiToken, hash_token
from phiwarden.accounts.roles import Capability
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.services import audit_event_record


def _parse(raw: str) -> str | None:
    """`phw_<prefix>_<secret>` → prefix, or None if the shape is wrong."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != ApiToken.PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def _refusal_reason(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if not token.is_usable:
        return "expired"
    if not token.membership.is_active or not token.membership.user.is_active:
        return "inactive"
    return "mfa_enrollment_required"


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        prefix = _parse(token)
        if prefix is None:
            return None
        found = (
            ApiToken.objects.select_related("membership__user", "membership__organization")
            .filter(prefix=prefix)
            .first()
        )
        if found is None or not hmac.compare_digest(found.secret_hash, hash_token(token)):
            return None
        membership = found.membership
        if (
            not found.is_usable
            or not membership.is_active
            or not membership.user.is_active
            or enrollment_required(membership.user)  # a token is no way around required MFA
        ):
            audit_event_record(
                actor=membership.user,
                organization=found.organization,
                event_code=EventCode.API_TOKEN_REFUSED,
                target=found,
                outcome=Outcome.DENIED,
                api_token_prefix=found.prefix,
                data={"reason": _refusal_reason(found)},
            )
            return None
        if found.should_touch():
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        return found


def token_require(request: HttpRequest, capability: Capability) -> ApiToken:
    """The request's token, if it may use `capability` (its scopes ∩ the member's role)."""
    token = request.auth  # type: ignore[attr-defined]
    if not isinstance(token, ApiToken):
        raise PermissionDenied
    if capability not in token.effective_capabilities:
        audit_event_record(
            actor=token.membership.user,
            organization=token.organization,
            event_code=EventCode.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            api_token_prefix=token.prefix,
            data={"capability": capability.value},
        )
        raise PermissionDenied
    return token
