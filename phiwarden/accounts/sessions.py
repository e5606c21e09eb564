"""Session limits: idle timeout and absolute lifetime per organization, and ending sessions.

45 CFR 164.312(a)(2)(iii) automatic logoff. Each session remembers when it was
authenticated, when it was last used and the user's session generation at log-in;
raising the generation ends every session of the user at once, whatever the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.contrib.sessions.backends.base import SessionBase

from phiwarden.accounts.models import Membership, User

AUTH_AT = "phw_auth_at"
SEEN_AT = "phw_seen_at"
GENERATION = "phw_generation"

DEFAULT_IDLE_MINUTES = 15
DEFAULT_MAX_AGE_HOURS = 12


@dataclass(frozen=True)
class SessionLimits:
    idle_seconds: int
    max_age_seconds: int


def session_limits_for(user: User) -> SessionLimits:
    """The strictest limits among the organizations the user belongs to."""
    organizations = [
        m.organization
        for m in Membership.objects.active().filter(user=user).select_related("organization")
    ]
    idle = min((o.idle_timeout_minutes for o in organizations), default=DEFAULT_IDLE_MINUTES)
    max_age = min((o.session_max_age_hours for o in organizations), default=DEFAULT_MAX_AGE_HOURS)
    return SessionLimits(idle_seconds=idle * 60, max_age_seconds=max_age * 3600)


def session_start(session: SessionBase, user: User) -> None:
    now = int(time.time())
    session[AUTH_AT] = now
    session[SEEN_AT] = now
    session[GENERATION] = user.session_generation


def session_touch(session: SessionBase) -> None:
    session[SEEN_AT] = int(time.time())


def session_end_reason(session: SessionBase, user: User, limits: SessionLimits) -> str | None:
    """Why this session must end now, or None while it may go on."""
    now = int(time.time())
    if session.get(GENERATION) != user.session_generation:
        return "revoked"
    auth_at = session.get(AUTH_AT)
    seen_at = session.get(SEEN_AT)
    if not isinstance(auth_at, int) or not isinstance(seen_at, int):
        return "revoked"  # a session we did not start: fail closed
    if now - auth_at >= limits.max_age_seconds:
        return "lifetime"
    if now - seen_at >= limits.idle_seconds:
        return "idle"
    return None
