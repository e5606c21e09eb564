"""Audit and session hooks on Django's and allauth's authentication signals.

STYLE.md keeps business rules out of signals; these are the exception because
log-in, log-out and MFA changes happen inside Django and allauth, and their
signals are the only place we are told. Each handler only records and stamps.
"""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models import F
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.http import HttpRequest

from phiwarden.accounts.models import User
from phiwarden.accounts.sessions import session_start
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record


@receiver(user_logged_in)
def on_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        session_start(request.session, user)
    audit_event_record(actor=user, organization=None, event_code=EventCode.LOGIN_SUCCEEDED)


@receiver(user_logged_out)
def on_logged_out(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if user is not None:
        audit_event_record(actor=user, organization=None, event_code=EventCode.LOGGED_OUT)


def _end_other_sessions(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)


@receiver(password_changed)
def on_password_changed(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _end_other_sessions(user)
    audit_event_record(actor=user, organization=None, event_code=EventCode.PASSWORD_CHANGED)


@receiver(password_reset)
def on_password_reset(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _end_other_sessions(user)
    audit_event_record(actor=user, organization=None, event_code=EventCode.PASSWORD_RESET)


@receiver(pre_delete, sender=Authenticator)
def remember_authenticator_id(sender: Any, instance: Authenticator, **kwargs: Any) -> None:
    """allauth deletes an authenticator before it sends `authenticator_removed`, and Django
    clears the deleted instance's pk; keep the id so the removal event can name it."""
    instance._phiwarden_id = instance.pk


def _mfa_data(authenticator: Authenticator) -> dict[str, str | int | None]:
    authenticator_id = authenticator.pk or getattr(authenticator, "_phiwarden_id", None)
    return {"authenticator_type": str(authenticator.type), "authenticator_id": authenticator_id}


@receiver(authenticator_added)
def on_authenticator_added(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    audit_event_record(
        actor=user,
        organization=None,
        event_code=EventCode.MFA_ENABLED,
        data=_mfa_data(authenticator),
    )


@receiver(authenticator_removed)
def on_authenticator_removed(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    audit_event_record(
        actor=user,
        organization=None,
        event_code=EventCode.MFA_REMOVED,
        data=_mfa_data(authenticator),
    )


@receiver(authenticator_reset)
def on_authenticator_reset(
    sender: Any, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    audit_event_record(
        actor=user,
        organization=None,
        event_code=EventCode.MFA_RECOVERY_CODES_RESET,
        data=_mfa_data(authenticator),
    )
