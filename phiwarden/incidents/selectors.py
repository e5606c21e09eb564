"""Reads of incidents for a member: who may see what, the deadlines in force, the breach
log and the timeline. Officers (incidents.manage) see every incident of their
organization; any other member sees only the incidents they reported."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.incidents.deadlines import Deadline
from phiwarden.incidents.models import Assessment, Incident, Notice
from phiwarden.incidents.services.assessment import current_assessment
from phiwarden.incidents.services.notices import client_deadline


def incidents_visible(membership: Membership) -> QuerySet[Incident]:
    capability_require(membership, Capability.INCIDENTS_REPORT)
    incidents = Incident.objects.for_organization(membership.organization)
    if not membership.can(Capability.INCIDENTS_MANAGE):
        incidents = incidents.filter(reported_by=membership.user)
    return incidents.select_related("reported_by", "vendor")


def incident_get(membership: Membership, incident_id: int, *, manage: bool = False) -> Incident:
    """One incident the member may see (404 otherwise); `manage` asks for incidents.manage."""
    if manage:
        capability_require(membership, Capability.INCIDENTS_MANAGE)
    incident = incidents_visible(membership).filter(pk=incident_id).first()
    if incident is None:
        raise Http404
    return incident


def incident_manage_get(membership: Membership, incident_id: int) -> Incident:
    return incident_get(membership, incident_id, manage=True)


@dataclass(frozen=True)
class ClientDeadline:
    client: Client
    deadline: Deadline
    notice: Notice | None


def client_deadlines(incident: Incident) -> list[ClientDeadline]:
    """Our notice deadline per affected client, from the discovery date and each client's
    BAA window (before a breach decision, too: the clock runs from discovery)."""
    notices = {
        n.client_id: n
        for n in Notice.objects.filter(incident=incident, recipient=Notice.Recipient.CLIENT)
    }
    return [
        ClientDeadline(client, client_deadline(incident, client), notices.get(client.pk))
        for client in incident.clients.order_by("name")
    ]


def earliest_deadline(incident: Incident) -> dt.date | None:
    dates = [row.deadline.due_on for row in client_deadlines(incident)]
    return min(dates) if dates else None


@dataclass(frozen=True)
class BreachLogRow:
    """One breach, in the fields of the HHS breach portal (S3 in the reference)."""

    incident: Incident
    assessment: Assessment
    client: Client
    breach_start: dt.date | None
    breach_end: dt.date | None
    discovered_on: dt.date
    individuals: int
    breach_type: str
    location: str
    phi_types: list[str]
    safeguards_before: str
    actions_taken: str
    notice_to_individuals_on: dt.date | None


# HHS portal "Type of breach"
BREACH_TYPES: dict[str, str] = {
    Incident.Kind.MISDIRECTED: "Unauthorized Access/Disclosure",
    Incident.Kind.LOST_DEVICE: "Loss",
    Incident.Kind.UNAUTHORIZED_ACCESS: "Unauthorized Access/Disclosure",
    Incident.Kind.COMPROMISED_ACCOUNT: "Hacking/IT Incident",
    Incident.Kind.PHISHING: "Hacking/IT Incident",
    Incident.Kind.VENDOR: "Unauthorized Access/Disclosure",
    Incident.Kind.RANSOMWARE: "Hacking/IT Incident",
    Incident.Kind.IMPROPER_DISPOSAL: "Improper Disposal",
    Incident.Kind.OTHER: "Other",
}

# HHS portal "Type of PHI involved": Demographic, Financial, Clinical, Other.
PHI_TYPE_OF_CLASS: dict[str, str] = {
    "names": "Demographic",
    "dates of birth": "Demographic",
    "ages": "Demographic",
    "demographics": "Demographic",
    "addresses": "Demographic",
    "phone numbers": "Demographic",
    "Social Security numbers": "Demographic",
    "member ids": "Financial",
    "health plan": "Financial",
    "account numbers": "Financial",
    "financial data": "Financial",
    "diagnoses": "Clinical",
    "procedures": "Clinical",
    "clinical": "Clinical",
    "dates of service": "Clinical",
}


def phi_types(classes: list[str]) -> list[str]:
    return sorted({PHI_TYPE_OF_CLASS.get(c, "Other") for c in classes})


def breach_log(membership: Membership, year: int) -> list[BreachLogRow]:
    """Breaches discovered in `year` whose decision in force is "breach": one row per
    affected client (each covered entity files its own report, 164.408)."""
    capability_require(membership, Capability.INCIDENTS_MANAGE)
    incidents = (
        Incident.objects.for_organization(membership.organization)
        .filter(discovered_on__year=year)
        .order_by("discovered_on", "number")
    )
    rows: list[BreachLogRow] = []
    for incident in incidents:
        assessment = current_assessment(incident)
        if assessment is None or not assessment.is_breach or assessment.scoping is None:
            continue
        scoping = assessment.scoping
        clients = Client.objects.filter(pk__in=scoping.client_ids()).order_by("name")
        individual_notices = {
            n.client_id: n.sent_at.date() if n.sent_at else None
            for n in incident.notices.filter(recipient=Notice.Recipient.INDIVIDUALS)
        }
        actions = "; ".join(
            [s.title for s in incident.steps.filter(done_at__isnull=False)]
            + [a.description for a in incident.actions.all()]
        )
        for client in clients:
            rows.append(
                BreachLogRow(
                    incident=incident,
                    assessment=assessment,
                    client=client,
                    breach_start=incident.occurred_on,
                    breach_end=incident.ended_on,
                    discovered_on=incident.discovered_on,
                    individuals=int(scoping.by_client.get(str(client.pk), 0)),
                    breach_type=BREACH_TYPES[incident.kind],
                    location=incident.get_location_display(),
                    phi_types=phi_types(list(scoping.phi_classes)),
                    safeguards_before=incident.safeguards_before,
                    actions_taken=actions,
                    notice_to_individuals_on=individual_notices.get(client.pk),
                )
            )
    return rows


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    what: str
    who: str = ""


def timeline(incident: Incident) -> list[TimelineEntry]:
    """Everything that happened to the incident, in order, from its own records."""

    def who(user: object) -> str:
        return str(getattr(user, "email", "") or "")

    def start_of(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)

    entries = [
        TimelineEntry(start_of(incident.discovered_on), "Discovered"),
        TimelineEntry(incident.created_at, "Reported", who(incident.reported_by)),
    ]
    if incident.occurred_on:
        entries.append(TimelineEntry(start_of(incident.occurred_on), "Began"))
    if incident.officers_notified_at:
        entries.append(TimelineEntry(incident.officers_notified_at, "Officers notified"))
    for step in incident.steps.filter(done_at__isnull=False).select_related("done_by"):
        assert step.done_at is not None  # noqa: S101
        entries.append(TimelineEntry(step.done_at, f"Containment: {step.title}", who(step.done_by)))
    for snap in incident.snapshots.select_related("taken_by"):
        entries.append(
            TimelineEntry(
                snap.taken_at,
                f"Evidence sealed: {snap.event_count} events under tree size {snap.tree_size}",
                who(snap.taken_by),
            )
        )
    for run in incident.scopings.select_related("computed_by"):
        entries.append(
            TimelineEntry(
                run.computed_at,
                f"Scoped: {run.individuals} individuals, {len(run.by_client)} clients",
                who(run.computed_by),
            )
        )
    for a in incident.assessments.filter(signed_at__isnull=False).select_related("signed_by"):
        assert a.signed_at is not None  # noqa: S101
        entries.append(
            TimelineEntry(
                a.signed_at,
                f"Assessment v{a.version} signed: {a.get_decision_display()}",
                who(a.signed_by),
            )
        )
    for n in incident.notices.select_related("client", "sent_by"):
        where = f"{n.client.name} {n.state}".strip()
        label = f"{n.get_recipient_display()} notice ({where})"
        if n.generated_at:
            entries.append(TimelineEntry(n.generated_at, f"{label} generated"))
        if n.sent_at:
            entries.append(TimelineEntry(n.sent_at, f"{label} sent", who(n.sent_by)))
        if n.acknowledged_at:
            entries.append(TimelineEntry(n.acknowledged_at, f"{label} acknowledged"))
    for action in incident.actions.select_related("verified_by"):
        entries.append(TimelineEntry(action.created_at, f"Corrective action: {action.description}"))
        if action.done_at:
            entries.append(TimelineEntry(action.done_at, f"Action done: {action.description}"))
        if action.verified_at:
            entries.append(
                TimelineEntry(
                    action.verified_at,
                    f"Action verified: {action.description}",
                    who(action.verified_by),
                )
            )
    if incident.closed_at:
        entries.append(TimelineEntry(incident.closed_at, "Closed", who(incident.closed_by)))
    return sorted(entries, key=lambda e: e.at)


def forbid_other_organization(membership: Membership, incident: Incident) -> None:
    if incident.organization_id != membership.organization_id:
        raise PermissionDenied
