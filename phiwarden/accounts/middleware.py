from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from phiwarden.accounts import mfa
from phiwarden.accounts.models import User
from phiwarden.accounts.sessions import session_end_reason, session_limits_for, session_touch
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record

_END_MESSAGES = {
    "idle": "You were signed out after a period of inactivity.",
    "lifetime": "Your session reached its maximum length. Please sign in again.",
    "revoked": "Your session was ended. Please sign in again.",
}
_END_EVENTS = {
    "idle": EventCode.SESSION_IDLE_EXPIRED,
    "lifetime": EventCode.SESSION_LIFETIME_EXPIRED,
}


class SessionPolicyMiddleware:
    """End sessions that are idle, too old, or revoked (by generation) before any view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_authenticated:
            reason = session_end_reason(request.session, user, session_limits_for(user))
            if reason is not None:
                event = _END_EVENTS.get(reason)
                if event is not None:
                    audit_event_record(actor=user, organization=None, event_code=event)
                logout(request)
                messages.info(request, _END_MESSAGES[reason])
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return HttpResponseRedirect(reverse("account_login"))
            session_touch(request.session)
        return self.get_response(request)


# Paths a user may reach before enrolling MFA: allauth's own pages (log-out, MFA set-up,
# re-authentication), static files and invitation acceptance.
_MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/invitations/", "/api/")


class MfaRequiredMiddleware:
    """Block every page until a member of an MFA-requiring organization has enrolled."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            isinstance(user, User)
            and user.is_authenticated
            and not request.path.startswith(_MFA_EXEMPT_PREFIXES)
            and mfa.enrollment_required(user)
        ):
            if not request.session.get("phw_mfa_block_recorded"):
                audit_event_record(
                    actor=user, organization=None, event_code=EventCode.MFA_ENROLLMENT_REQUIRED
                )
                request.session["phw_mfa_block_recorded"] = True
            messages.warning(
                request,
                "Your organization requires two-factor authentication. Set it up to continue.",
            )
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
