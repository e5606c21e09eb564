"""Breach scoping from the data: who was exposed, computed from the audit trail and the
billing records instead of typed in.

Given members or API tokens and a time window, or a set of imported files, the scope is
the distinct patients those events touched (the audit trail's patient index), broken
down by covered-entity client and by state of residence, with the classes of PHI that
were disclosed (from each event's `fields_disclosed`). The counts drive the thresholds of
45 CFR 164.404-164.410: 500 or more individuals (HHS within 60 days), more than 500
residents of one State (media), and which clients must be told.

Scoping reads PHI-adjacent facts, so it needs `incidents.manage` and is itself recorded,
with every patient in scope, so a later review sees who looked.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q

from phiwarden.accounts.models import Membership, Organization
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent, AuditEventPatient
from phiwarden.audit.services import audit_event_record
from phiwarden.billing import scoping as billing_scoping

# What each disclosed field tells about the kind of PHI exposed (the classes a breach
# notice must describe, 164.404(c)(1)(B)).
FIELD_CLASSES: dict[str, str] = {
    "patient.name": "names",
    "patient.birth_date": "dates of birth",
    "patient.age": "ages",
    "patient.sex": "demographics",
    "patient.address": "addresses",
    "patient.phone": "phone numbers",
    "patient.ssn": "Social Security numbers",
    "coverage.member_id": "member ids",
    "coverage.group_number": "member ids",
    "coverage.payer": "health plan",
    "claim.account_number": "account numbers",
    "claim.payer_claim_number": "account numbers",
    "claim.diagnoses": "diagnoses",
    "claim.procedures": "procedures",
    "claim.prior_authorization": "clinical",
    "claim.service_dates": "dates of service",
    "claim.amounts": "financial data",
    "payment.adjustments": "financial data",
}
PATIENT_CHUNK = 5000


@dataclass(frozen=True)
class ScopeQuery:
    actor_ids: Sequence[int] = ()
    token_prefixes: Sequence[str] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    file_ids: Sequence[int] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "actor_ids": sorted(self.actor_ids),
            "token_prefixes": sorted(self.token_prefixes),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "file_ids": sorted(self.file_ids),
        }


@dataclass
class ScopeResult:
    query: ScopeQuery
    patient_ids: set[int] = field(default_factory=set)
    by_client: dict[int, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    by_client_state: dict[int, dict[str, int]] = field(default_factory=dict)
    phi_classes: set[str] = field(default_factory=set)
    events: int = 0
    viewed_events: int = 0  # events that returned PHI fields: acquired or viewed, 164.402(2)(iii)

    @property
    def individuals(self) -> int:
        return len(self.patient_ids)


def scope_events(organization: Organization, query: ScopeQuery) -> Any:
    """The audit events of the named members or tokens inside the window."""
    who = Q()
    if query.actor_ids:
        who |= Q(actor_id__in=list(query.actor_ids))
    if query.token_prefixes:
        who |= Q(api_token_prefix__in=list(query.token_prefixes))
    events = AuditEvent.objects.for_organization(organization).filter(who)
    if query.since is not None:
        events = events.filter(occurred_at__gte=query.since)
    if query.until is not None:
        events = events.filter(occurred_at__lt=query.until)
    return events


def _classes(field_lists: Iterable[Sequence[str]]) -> set[str]:
    found: set[str] = set()
    for fields in field_lists:
        found.update(FIELD_CLASSES.get(name, "other") for name in fields)
    return found


def breach_scope(
    *, membership: Membership, query: ScopeQuery, target: models.Model | None = None
) -> ScopeResult:
    """Compute the scope, and record that it was computed (with every patient in it)."""
    capability_require(membership, Capability.INCIDENTS_MANAGE)
    if not (query.actor_ids or query.token_prefixes or query.file_ids):
        raise ValidationError("Name the members, API tokens or imported files to scope.")
    if (query.actor_ids or query.token_prefixes) and not (query.since and query.until):
        raise ValidationError("Give the time window in which the access happened.")
    if query.since and query.until and query.until <= query.since:
        raise ValidationError("The window ends before it starts.")
    result = ScopeResult(query=query)
    if query.actor_ids or query.token_prefixes:
        events = scope_events(membership.organization, query)
        result.events = events.count()
        touches = AuditEventPatient.objects.filter(
            organization=membership.organization, event__in=events.values("pk")
        )
        result.patient_ids |= set(touches.values_list("patient_id", flat=True).distinct())
        # Events that returned PHI fields about someone: acquired or viewed (164.402(2)(iii)).
        touched = AuditEventPatient.objects.filter(event=OuterRef("pk"))
        disclosing = events.filter(Exists(touched)).exclude(fields_disclosed=[])
        result.phi_classes |= _classes(disclosing.values_list("fields_disclosed", flat=True))
        result.viewed_events = disclosing.count()
    if query.file_ids:
        # Everything in an exposed file: the whole claim record.
        in_files = billing_scoping.patients_in_files(membership=membership, file_ids=query.file_ids)
        result.patient_ids |= in_files
        if in_files:
            result.phi_classes |= {
                "names", "dates of birth", "addresses", "member ids", "account numbers",
                "diagnoses", "procedures", "dates of service", "financial data",
            }  # fmt: skip
    facts = billing_scoping.patient_facts(membership=membership, patient_ids=result.patient_ids)
    result.by_client = dict(Counter(client for client, _state in facts.values()))
    result.by_state = dict(Counter(state or "unknown" for _client, state in facts.values()))
    for client, state in facts.values():
        per_state = result.by_client_state.setdefault(client, {})
        per_state[state or "unknown"] = per_state.get(state or "unknown", 0) + 1
    with transaction.atomic():
        audit_event_record(
            actor=membership.user,
            organization=membership.organization,
            event_code=EventCode.INCIDENT_SCOPED,
            target=target,
            purpose="operations",
            data={
                "individuals": result.individuals,
                "events": result.events,
                "members": len(query.actor_ids),
                "tokens": len(query.token_prefixes),
                "files": len(query.file_ids),
            },
            patient_ids=sorted(result.patient_ids),
        )
    return result
