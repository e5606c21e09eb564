"""Exceptions that every layer raises and the top layers turn into answers."""

from __future__ import annotations


class AuditUnavailable(Exception):
    """The audit trail could not record an event, so the action that needed it did not
    happen and no data left (fail closed: DESIGN.md, the PHI door). Answered with 503."""

    message = "The audit trail is unavailable, so nothing was shown or changed. Try again shortly."
