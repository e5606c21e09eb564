"""Bearer-token authentication for the JSON API: personal, hashed, scoped, expiring tokens."""

from __future__ import annotations

import hmac

from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from phiwarden.accounts.mfa import SECOND_FACTOR_TYPES
from phiwarden.accounts.models import ApiToken, Membership, hash_token
from phiwarden.accounts.roles import Capability
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.services import audit_event_record
from phiwarden.core.statements import CompiledQuery

PREFIX_MAX = ApiToken._meta.get_field("prefix").max_length or 16


def _parse(raw: str) -> str | None:
    """`phw_<prefix>_<secret>` → prefix, or None if the shape is wrong."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != ApiToken.PREFIX or not parts[1] or not parts[2]:
        return None
    prefix, secret = parts[1], parts[2]
    # Prefixes are hex and secrets URL-safe base64 (api_token_create); anything else (a NUL
    # byte, non-ASCII text, an overlong prefix) cannot name a token and never reaches SQL.
    if len(prefix) > PREFIX_MAX or not (prefix.isascii() and prefix.isalnum()):
        return None
    if not (secret.isascii() and secret.isprintable()):
        return None
    return prefix


def _refusal_reason(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if not token.is_usable:
        return "expired"
    if not token.membership.is_active or not token.membership.user.is_active:
        return "inactive"
    return "mfa_enrollment_required"


def _tokens_with_mfa_facts(prefix: str) -> QuerySet[ApiToken]:
    """The token by prefix, with two facts about its member's user: an active membership
    (membership and user active) in an organization that requires MFA
    (`mfa.organization_requires_mfa`), and a second factor (`mfa.has_second_factor`: TOTP
    or WebAuthn, recovery codes not counted); test_claim_detail_queries checks both
    against `mfa`. The prefix is unique; no LIMIT, which costs PostgreSQL planning time."""
    user = OuterRef("membership__user_id")
    in_mfa_organization = Membership.objects.filter(
        user_id=user, is_active=True, user__is_active=True, organization__mfa_required=True
    )
    second_factor = Authenticator.objects.filter(user_id=user, type__in=SECOND_FACTOR_TYPES)
    return (
        ApiToken.objects.select_related("membership__user", "membership__organization")
        .annotate(
            in_mfa_organization=Exists(in_mfa_organization),
            has_second_factor=Exists(second_factor),
        )
        .filter(prefix=prefix)
    )


# Every API request runs it, so it is compiled once per connection (core.statements): the
# two subqueries cost more to build in the ORM (~1.5 ms) than the rest of authentication.
_TOKEN_WITH_MFA_FACTS = CompiledQuery(_tokens_with_mfa_facts, texts=("prefix",))


def _token_with_mfa_facts(prefix: str) -> ApiToken | None:
    """The token named by `prefix` with its membership, user and organization, and the two
    facts `mfa.enrollment_required` asks about its user (`in_mfa_organization`,
    `has_second_factor`), all in one query."""
    rows = _TOKEN_WITH_MFA_FACTS.fetch(prefix=prefix)
    return rows[0] if rows else None


def _enrollment_required(token: ApiToken) -> bool:
    """`mfa.enrollment_required(user)`, answered from the facts loaded with the token."""
    needs = token.membership.user.is_staff or token.in_mfa_organization  # type: ignore[attr-defined]
    return bool(needs and not token.has_second_factor)  # type: ignore[attr-defined]


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        prefix = _parse(token)
        if prefix is None:
            return None
        found = _token_with_mfa_facts(prefix)
        if found is None or not hmac.compare_digest(found.secret_hash, hash_token(token)):
            return None
        membership = found.membership
        # The token's organization is its membership's (api_token_create); reuse the loaded
        # row rather than fetch it again for the audit event and the endpoints.
        if found.organization_id == membership.organization_id:
            found.organization = membership.organization
        if (
            not found.is_usable
            or not membership.is_active
            or not membership.user.is_active
            or _enrollment_required(found)  # a token is no way around required MFA
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
