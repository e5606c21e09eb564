"""The one writer of audit events (DESIGN.md: "a second way ... to write an audit event" never).

Callers are services (inside their own transaction, so the event and the change commit
together) and PHI selectors (before returning data, so a failed write returns nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, models, transaction
from django.utils import timezone

from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent, AuditEventPatient
from phiwarden.core import context
from phiwarden.core.errors import AuditUnavailable

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from phiwarden.accounts.models import Organization, User

JsonScalar = str | int | bool | None
AuditData = Mapping[str, JsonScalar | Sequence[JsonScalar]]

MAX_DATA_STRING = 200
MAX_DATA_KEYS = 32


class AuditDataError(ValueError):
    """The event's data is not a small mapping of identifiers."""


def _check_data(data: AuditData) -> dict[str, Any]:
    """Keep `data` to a few short scalar identifiers, so free text (and PHI in it) has no home."""
    if len(data) > MAX_DATA_KEYS:
        raise AuditDataError("audit data holds too many keys")
    clean: dict[str, Any] = {}
    for key, value in data.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if not isinstance(item, str | int | bool | type(None)):
                raise AuditDataError(f"audit data key {key!r} holds a {type(item).__name__}")
            if isinstance(item, str) and len(item) > MAX_DATA_STRING:
                raise AuditDataError(f"audit data key {key!r} holds a long string")
        clean[key] = list(value) if isinstance(value, list | tuple) else value
    return clean


def audit_event_record(
    *,
    actor: User | AnonymousUser | None,
    organization: Organization | None,
    event_code: EventCode,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    outcome: Outcome = Outcome.ALLOWED,
    purpose: str = "",
    api_token_prefix: str = "",
    data: AuditData | None = None,
    patient_ids: Sequence[int] = (),
    fields_disclosed: Sequence[str] = (),
) -> AuditEvent:
    """Write one audit event and return it. Raises on failure: callers must not swallow it.

    The event, its patient index rows and its pending-seal marker (written by a trigger)
    commit with the caller's transaction, so the sealer can never miss an event.
    """
    if not isinstance(event_code, EventCode):
        raise AuditDataError("event_code must be a member of EventCode")
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
    person = actor if actor is not None and actor.is_authenticated else None
    ctx = context.current()
    clean_data = _check_data(data or {})
    try:
        return _write(
            organization=organization, person=person, api_token_prefix=api_token_prefix,
            event_code=event_code, outcome=outcome, target_type=target_type,
            target_id=str(target_id), purpose=purpose, ctx=ctx, data=clean_data,
            fields_disclosed=fields_disclosed, patient_ids=patient_ids,
        )  # fmt: skip
    except DatabaseError as error:
        # The caller's transaction is now unusable and must roll back with everything it
        # did; callers never catch this, so no data is returned without its event.
        raise AuditUnavailable(AuditUnavailable.message) from error


def _write(
    *,
    organization: Organization | None,
    person: Any,
    api_token_prefix: str,
    event_code: EventCode,
    outcome: Outcome,
    target_type: str,
    target_id: str,
    purpose: str,
    ctx: context.RequestContext | None,
    data: dict[str, Any],
    fields_disclosed: Sequence[str],
    patient_ids: Sequence[int],
) -> AuditEvent:
    # No savepoint: a failed audit write must doom the caller's whole transaction anyway
    # (fail closed), and the savepoint cost a round trip per event. The pending-seal marker
    # is written by a database trigger in the same INSERT (audit/triggers.py).
    with transaction.atomic(savepoint=False):
        event = AuditEvent.objects.create(
            organization=organization,
            occurred_at=timezone.now(),
            actor=person,
            actor_label=person.get_username() if person is not None else "",
            api_token_prefix=api_token_prefix,
            event_code=event_code,
            outcome=outcome,
            target_type=target_type,
            target_id=target_id,
            purpose=purpose,
            request_id=ctx.request_id if ctx else "",
            ip_address=ctx.ip_address if ctx else None,
            via=ctx.via if ctx else "",
            data=data,
            fields_disclosed=sorted(set(fields_disclosed)),
        )
        organization_id = organization.pk if organization is not None else None
        if patient_ids:
            if organization_id is None:
                raise AuditDataError("an event that touches patients needs an organization")
            AuditEventPatient.objects.bulk_create(
                AuditEventPatient(event=event, organization_id=organization_id, patient_id=pid)
                for pid in sorted(set(patient_ids))
            )
    return event
