"""Email + password authentication with per-account lockout, every attempt audited.

45 CFR 164.308(a)(5)(ii)(C) (log-in monitoring) and 164.312(d). After
LOGIN_LOCKOUT_THRESHOLD consecutive failures the account refuses log-ins for
LOGIN_LOCKOUT_MINUTES, even with the right password (NIST SP 800-63B 5.2.2).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from phiwarden.accounts.models import User
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.services import audit_event_record


class LockoutAwareEmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        email: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        address = (email or username or kwargs.get(User.USERNAME_FIELD) or "").strip().lower()
        if not address or password is None:
            return None
        user = User.objects.filter(email=address).first()
        if user is None:
            User().set_password(password)  # same work as a real check: no timing oracle
            audit_event_record(
                actor=None,
                organization=None,
                event_code=EventCode.LOGIN_FAILED,
                outcome=Outcome.FAILED,
                data={"reason": "unknown_account"},
            )
            return None
        if user.is_locked():
            audit_event_record(
                actor=None,
                organization=None,
                event_code=EventCode.LOGIN_REFUSED_LOCKED,
                target=user,
                outcome=Outcome.DENIED,
            )
            # Not `return None`: Django would then ask the next backend (allauth's), which
            # would accept the right password. PermissionDenied stops the chain.
            raise PermissionDenied
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_login_count:
                User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
            return user
        self._record_failure(user)
        return None

    @staticmethod
    def _record_failure(user: User) -> None:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
            user.refresh_from_db(fields=["failed_login_count"])
            audit_event_record(
                actor=None,
                organization=None,
                event_code=EventCode.LOGIN_FAILED,
                target=user,
                outcome=Outcome.FAILED,
                data={"consecutive_failures": user.failed_login_count},
            )
            if user.failed_login_count >= settings.LOGIN_LOCKOUT_THRESHOLD:
                until = timezone.now() + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
                User.objects.filter(pk=user.pk).update(locked_until=until, failed_login_count=0)
                audit_event_record(
                    actor=None,
                    organization=None,
                    event_code=EventCode.LOGIN_LOCKED,
                    target=user,
                    outcome=Outcome.DENIED,
                    data={"minutes": settings.LOGIN_LOCKOUT_MINUTES},
                )
