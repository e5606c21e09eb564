"""The one writer of audit events (DESIGN.md: "a second way ... to write an audit event" never).

Callers are services (inside their own transaction, so the event and the change commit
together) and PHI selectors (before returning data, so a failed write returns nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent, AuditEventPatient
from phiwarden.core import context
from phiwarden.core.errors import AuditUnavailable
from phiwarden.core.statements import CompiledInsert, new_instance

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
    commit with the caller's transaction, so the sealer can never miss an event; outside a
    transaction they are written atomically on their own (one statement on PostgreSQL).
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


# Every audited read writes an event, so its INSERTs are built once per connection
# (core.statements): the ORM's save() spent longer composing them than the database took
# to run them. Values are prepared exactly as save() prepares them.
_EVENT_INSERT = CompiledInsert(AuditEvent)
_PATIENT_INSERT = CompiledInsert(AuditEventPatient)


def _insert_in_one_statement(
    event: AuditEvent, organization_id: int | None, patients: list[int]
) -> None:
    """The event and its patient rows in one PostgreSQL statement (a data-modifying WITH).

    One statement is atomic by itself, so a caller outside a transaction (the audited
    reads) needs no BEGIN and COMMIT round trips around the write: three round trips fewer
    per read, the largest single cost left on the claim-detail path (docs/benchmarks.md).
    Inside a caller's transaction it is simply part of it.
    """
    event_sql, values = _EVENT_INSERT.statement(event)
    if patients:
        q = connection.ops.quote_name
        meta = AuditEventPatient._meta
        fields = (AuditEventPatient.event.field, AuditEventPatient.organization.field)
        columns = ", ".join(q(f.column) for f in (*fields, meta.get_field("patient_id")))
        # Only quoted names from model meta are interpolated; values are parameters.
        sql = (
            f"WITH event AS ({event_sql}), linked AS ("  # noqa: S608
            f"INSERT INTO {q(meta.db_table)} ({columns})"
            " SELECT event.id, %s, patient.id FROM event"
            " CROSS JOIN unnest(%s::bigint[]) AS patient(id)"
            ") SELECT id FROM event"
        )
        values += [organization_id, patients]
    else:
        sql = event_sql
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


def _saved_pk(row: models.Model | None) -> Any:
    """The row's primary key; a row never saved is refused, as `Model.save()` refuses to
    save a reference to it, rather than recorded as no one."""
    if row is None:
        return None
    if row.pk is None:
        raise AuditDataError(f"an audit event cannot name an unsaved {type(row).__name__}")
    return row.pk


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
    organization_id = _saved_pk(organization)
    event = new_instance(
        AuditEvent,
        organization_id=organization_id,
        occurred_at=timezone.now(),
        actor_id=_saved_pk(person),
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
    patients = sorted(set(patient_ids))
    if patients and organization_id is None:
        raise AuditDataError("an event that touches patients needs an organization")
    if connection.vendor == "postgresql":
        _insert_in_one_statement(event, organization_id, patients)
        return event
    with transaction.atomic(savepoint=False):
        _EVENT_INSERT.insert(event)
        if patients:
            _PATIENT_INSERT.insert_many(
                [
                    AuditEventPatient(event=event, organization=organization, patient_id=pid)
                    for pid in patients
                ]
            )
    return event
