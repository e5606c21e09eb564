"""Doing a submission's work once: a double-clicked form or a retried API call.

A form carries a one-time token (`new_submission`); an API caller may send an
`Idempotency-Key` header. The first request claims the key in the shared cache (the
database cache in production, so every worker sees it) for an hour; a repeat finds the
claim and answers with what the first one produced, or, while the first is still running,
is told so. A request whose work fails releases the key so it can be tried again.
"""

from __future__ import annotations

import re
import uuid

from django.core.cache import cache

HOLD_SECONDS = 3600
IN_FLIGHT = ""  # what a repeat finds while the first request is still running
_API_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_submission() -> str:
    return uuid.uuid4().hex


def api_key_valid(key: str) -> bool:
    """An Idempotency-Key: 1 to 64 letters, digits and `._:-` (a UUID fits)."""
    return _API_KEY.fullmatch(key) is not None


class Submission:
    """One key of one user: the first request claims it, a repeat finds what it left."""

    def __init__(self, namespace: str, user_id: int | None, token: str) -> None:
        token = token[:64]
        self.key = f"incidents:{namespace}:{user_id}:{token}" if token and user_id else ""

    def repeated(self) -> str | None:
        """None for the first request; else the first one's result (IN_FLIGHT meanwhile)."""
        if not self.key or cache.add(self.key, IN_FLIGHT, timeout=HOLD_SECONDS):
            return None
        return str(cache.get(self.key) or IN_FLIGHT)

    def done(self, result: str) -> str:
        if self.key:
            cache.set(self.key, result, timeout=HOLD_SECONDS)
        return result

    def failed(self) -> None:
        if self.key:
            cache.delete(self.key)
