"""Typed requests and the decorator that turns /o/<slug>/ into an authorized membership."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from allauth.account.decorators import reauthentication_required as _allauth_reauthentication
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from phiwarden.accounts.models import Membership, User
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require, membership_get_for_user

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., HttpResponseBase])


def reauthentication_required(view: F) -> F:
    """Ask for the password (or a second factor) again if the last one is older than
    ACCOUNT_REAUTHENTICATION_TIMEOUT: role changes, security settings, tokens, exports."""
    return cast(F, _allauth_reauthentication(view))


class AuthenticatedRequest(HttpRequest):
    user: User


class OrgRequest(AuthenticatedRequest):
    membership: Membership


OrgView = Callable[Concatenate[OrgRequest, P], HttpResponseBase]


def org_view(
    capability: Capability,
) -> Callable[[OrgView[P]], Callable[..., HttpResponseBase]]:
    """Resolve the organization from the URL (404 for strangers) and require a capability
    (403 for members whose role lacks it)."""

    def decorate(view: OrgView[P]) -> Callable[..., HttpResponseBase]:
        @login_required
        @wraps(view)
        def wrapper(
            request: HttpRequest, org_slug: str, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            assert isinstance(request.user, User)  # noqa: S101  (login_required guarantees it)
            membership = membership_get_for_user(user=request.user, organization_slug=org_slug)
            capability_require(membership, capability)
            org_request: OrgRequest = request  # type: ignore[assignment]
            org_request.membership = membership
            return view(org_request, *args, **kwargs)

        return wrapper

    return decorate
