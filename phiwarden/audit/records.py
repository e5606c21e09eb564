"""Turn stored events into the canonical records that are hashed, exported and verified."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from phiwarden.audit.canonical import FORMAT_VERSION
from phiwarden.audit.models import AuditEvent, AuditEventPatient


def iso_utc(moment: Any) -> str:
    return str(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def patient_ids_by_event(event_ids: Iterable[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    rows = AuditEventPatient.objects.filter(event_id__in=list(event_ids)).values_list(
        "event_id", "patient_id"
    )
    for event_id, patient_id in rows:
        found[event_id].append(patient_id)
    return found


def event_record(event: AuditEvent, *, sequence: int, patient_ids: Sequence[int]) -> dict[str, Any]:
    return {
        "v": FORMAT_VERSION,
        "id": event.pk,
        "org": event.organization_id,
        "seq": sequence,
        "at": iso_utc(event.occurred_at),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "token": event.api_token_prefix,
        "code": event.event_code,
        "outcome": event.outcome,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "purpose": event.purpose,
        "request_id": event.request_id,
        "ip": event.ip_address,
        "via": event.via,
        "data": event.data,
        "patient_ids": sorted(patient_ids),
        "fields": sorted(event.fields_disclosed),
    }
