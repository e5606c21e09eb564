"""Shared set-up for audit tests: a small sealed log of synthetic events."""

from __future__ import annotations

from django.db import connection

from phiwarden.audit import triggers
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent
from phiwarden.audit.sealing import seal_all
from phiwarden.audit.services import audit_event_record


def write_events(organization, actor, count, *, start=0):
    events = []
    for i in range(start, start + count):
        events.append(
            audit_event_record(
                actor=actor,
                organization=organization,
                event_code=EventCode.ACCESS_DENIED if i % 3 else EventCode.LOGIN_SUCCEEDED,
                outcome=Outcome.DENIED if i % 3 else Outcome.ALLOWED,
                target_type="accounts.client",
                target_id=str(i),
                purpose="payment",
                data={"n": i},
                patient_ids=[1000 + i, 2000 + i] if i % 2 else [],
                fields_disclosed=["member_id"] if i % 2 else [],
            )
        )
    return events


def sealed_log(organization, actor, sizes=(5, 4)):
    """Write and seal events in batches: one tree head per batch."""
    events: list[AuditEvent] = []
    for size in sizes:
        events += write_events(organization, actor, size, start=len(events))
        seal_all()
    return events


def events_in_sequence(organization):
    return list(AuditEvent.objects.filter(organization=organization).order_by("leaf__sequence"))


def as_database_owner():
    """Drop the triggers inside the test transaction, as a DBA could; rolled back after."""
    triggers.remove(connection)
