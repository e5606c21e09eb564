"""Evidence for the incident items: B1 (containment and evidence preserved), B2 (officers
told promptly; vendor incidents under their BAA), B3 (signed assessment before the
deadline), B4 (notices on time), B5 (corrective actions verified) and the incident half
of R4 (incident records complete).

45 CFR 164.308(a)(6)(ii) (respond to, mitigate and document security incidents);
164.402(2) (the four-factor assessment); 164.404-164.410 (notices and their deadlines);
164.414(b) (burden of proof); 164.308(a)(1)(ii)(B) (risk management);
164.530(j), 164.316(b)(2)(i) (documentation kept six years).

With no incident recorded there is nothing to measure: the items say so and stay "not
measured" (the registry's status for an item without evidence), never a guessed "met".
Incidents still in progress (in triage, assessment or notice not yet due) make an item
"partly met" until they are through, never "not met".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import Organization
from phiwarden.compliance.registry import Evidence, EvidenceLink, Status, evidence_for
from phiwarden.incidents.models import Incident, Notice
from phiwarden.incidents.obligations import assessment_due_on
from phiwarden.incidents.services.assessment import current_assessment

Facts = dict[str, int | float | str | bool]

NO_INCIDENTS = "No incidents recorded: nothing to measure until one is reported."
# An incident reported this long ago is past triage even if its status has not moved.
TRIAGE_DAYS = 7
# Officers should hear of an incident within this many hours of its report (the
# notification is sent by the system when the report is saved).
OFFICER_NOTICE_HOURS = 24


@dataclass
class Tally:
    good: int = 0
    bad: int = 0
    pending: int = 0

    def status(self) -> Status:
        if self.bad:
            return Status.PARTIAL if self.good else Status.NOT_MET
        return Status.PARTIAL if self.pending or not self.good else Status.MET


def _incidents(organization: Organization) -> list[Incident]:
    return list(Incident.objects.for_organization(organization).order_by("discovered_on", "pk"))


def _links(organization: Organization, *extra: tuple[str, str]) -> tuple[EvidenceLink, ...]:
    slug = {"org_slug": organization.slug}
    links = [EvidenceLink("Incidents", reverse("incidents:list", kwargs=slug))]
    links += [EvidenceLink(label, reverse(name, kwargs=slug)) for label, name in extra]
    return tuple(links)


def _refs(incidents: list[Incident], limit: int = 5) -> str:
    names = [i.reference for i in incidents[:limit]]
    more = len(incidents) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _no_incidents(organization: Organization) -> Evidence:
    return Evidence(Status.NOT_MEASURED, NO_INCIDENTS, {"incidents": 0}, _links(organization))


def _past_triage(incident: Incident, now: dt.datetime) -> bool:
    return incident.status != Incident.Status.REPORTED or (
        now - incident.created_at > dt.timedelta(days=TRIAGE_DAYS)
    )


@evidence_for("B1")
def containment_recorded(organization: Organization, now: dt.datetime | None = None) -> Evidence:
    """Every incident past triage: containment steps all done (with times) and at least
    one sealed evidence snapshot of the audit trail."""
    now = now or timezone.now()
    incidents = _incidents(organization)
    if not incidents:
        return _no_incidents(organization)
    tally, lacking = Tally(), []
    open_steps = no_snapshot = 0
    for incident in incidents:
        steps = list(incident.steps.all())
        undone = sum(1 for s in steps if s.done_at is None)
        snapshots = incident.snapshots.count()
        if not _past_triage(incident, now):
            tally.pending += 1
            continue
        open_steps += undone
        no_snapshot += snapshots == 0
        if steps and not undone and snapshots:
            tally.good += 1
        else:
            tally.bad += 1
            lacking.append(incident)
    facts: Facts = {
        "incidents": len(incidents),
        "past_triage": tally.good + tally.bad,
        "in_triage": tally.pending,
        "contained_with_evidence": tally.good,
        "open_containment_steps": open_steps,
        "without_evidence_snapshot": no_snapshot,
    }
    parts = [
        f"{tally.good} of {tally.good + tally.bad} incidents past triage have every "
        "containment step done with its time and a sealed evidence snapshot"
    ]
    if lacking:
        parts.append(f"lacking: {_refs(lacking)}")
    if tally.pending:
        parts.append(f"{tally.pending} still in triage")
    return Evidence(tally.status(), "; ".join(parts) + ".", facts, _links(organization))


@evidence_for("B2")
def officers_notified(organization: Organization, now: dt.datetime | None = None) -> Evidence:
    """Time from report to officer notice (officers_notified_at - created_at), and the
    time from discovery to report; vendor incidents must name the vendor and its BAA."""
    now = now or timezone.now()
    incidents = _incidents(organization)
    if not incidents:
        return _no_incidents(organization)
    limit = dt.timedelta(hours=OFFICER_NOTICE_HOURS)
    tally, late, unlinked = Tally(), [], []
    delays: list[float] = []
    report_lags: list[int] = []
    vendor_incidents = 0
    for incident in incidents:
        report_lags.append((incident.created_at.date() - incident.discovered_on).days)
        is_vendor = incident.kind == Incident.Kind.VENDOR or incident.vendor_id is not None
        linked = not is_vendor or (incident.vendor_id is not None and incident.vendor_baa_id)
        vendor_incidents += is_vendor
        if not linked:
            unlinked.append(incident)
        if incident.officers_notified_at is None:
            state = "pending" if now - incident.created_at <= limit else "late"
        else:
            delay = incident.officers_notified_at - incident.created_at
            delays.append(delay.total_seconds() / 3600)
            state = "ok" if delay <= limit else "late"
        if state == "late":
            late.append(incident)
        if state == "late" or not linked:
            tally.bad += 1
        elif state == "ok":
            tally.good += 1
        else:
            tally.pending += 1
    prompt = sum(1 for hours in delays if hours <= OFFICER_NOTICE_HOURS)
    facts: Facts = {
        "incidents": len(incidents),
        "officers_notified_within_limit": prompt,
        "notified_late_or_never": len(late),
        "limit_hours": OFFICER_NOTICE_HOURS,
        "max_hours_report_to_notice": round(max(delays), 2) if delays else 0.0,
        "max_days_discovery_to_report": max(report_lags),
        "vendor_incidents": vendor_incidents,
        "vendor_incidents_without_vendor_or_baa": len(unlinked),
    }
    parts = [
        f"officers were told within {OFFICER_NOTICE_HOURS} hours of the report for {prompt} "
        f"of {len(incidents)} incidents (longest {facts['max_hours_report_to_notice']} h)",
        f"longest time from discovery to report: {facts['max_days_discovery_to_report']} days",
        f"{vendor_incidents - len(unlinked)} of {vendor_incidents} vendor incidents "
        "linked to their vendor and BAA",
    ]
    if late:
        parts.append(f"late or never told: {_refs(late)}")
    if unlinked:
        parts.append(f"vendor or BAA missing: {_refs(unlinked)}")
    return Evidence(tally.status(), "; ".join(parts) + ".", facts, _links(organization))


@evidence_for("B3")
def assessments_on_time(organization: Organization, today: dt.date | None = None) -> Evidence:
    """Every incident has a signed four-factor assessment by its earliest deadline (the
    earliest client notice deadline, or 60 days after discovery)."""
    today = today or timezone.localdate()
    incidents = _incidents(organization)
    if not incidents:
        return _no_incidents(organization)
    tally, late = Tally(), []
    without_mitigation = 0
    for incident in incidents:
        due = assessment_due_on(incident)
        first = incident.assessments.filter(signed_at__isnull=False).order_by("signed_at").first()
        if first is None:
            if due < today:
                tally.bad += 1
                late.append(incident)
            else:
                tally.pending += 1
            continue
        assert first.signed_at is not None  # noqa: S101  (filtered above)
        if timezone.localdate(first.signed_at) <= due:
            tally.good += 1
        else:
            tally.bad += 1
            late.append(incident)
        in_force = current_assessment(incident)
        if in_force is not None and not in_force.mitigation.strip():
            without_mitigation += 1
    facts: Facts = {
        "incidents": len(incidents),
        "signed_by_deadline": tally.good,
        "late_or_overdue": tally.bad,
        "not_yet_due": tally.pending,
        "signed_without_mitigation": without_mitigation,
    }
    parts = [
        f"{tally.good} of {len(incidents)} incidents have a signed risk assessment "
        "made by their earliest deadline"
    ]
    if late:
        parts.append(f"late or overdue: {_refs(late)}")
    if tally.pending:
        parts.append(f"{tally.pending} not yet due")
    if without_mitigation:
        parts.append(f"{without_mitigation} signed without the mitigation recorded")
    status = tally.status()
    if status is Status.MET and without_mitigation:
        status = Status.PARTIAL
    return Evidence(status, "; ".join(parts) + ".", facts, _links(organization))


@evidence_for("B4")
def notices_on_time(organization: Organization, today: dt.date | None = None) -> Evidence:
    """Each notice a breach requires (ours to the clients, the clients' to individuals,
    HHS and media, which we track) sent by its computed deadline."""
    today = today or timezone.localdate()
    incidents = _incidents(organization)
    if not incidents:
        return _no_incidents(organization)
    breaches = [i for i in incidents if (a := current_assessment(i)) is not None and a.is_breach]
    notices = list(Notice.objects.for_organization(organization).filter(incident__in=breaches))
    tally, late = Tally(), set()
    ours_late = 0
    for notice in notices:
        on_time = notice.sent_on_time()
        if on_time:
            tally.good += 1
            continue
        if on_time is None and notice.due_on >= today:
            tally.pending += 1
            continue
        tally.bad += 1
        late.add(notice.incident_id)
        ours_late += notice.recipient == Notice.Recipient.CLIENT
    facts: Facts = {
        "incidents": len(incidents),
        "breaches": len(breaches),
        "notices_required": len(notices),
        "sent_on_time": tally.good,
        "late_or_overdue": tally.bad,
        "ours_to_clients_late_or_overdue": ours_late,
        "not_yet_due": tally.pending,
    }
    links = _links(organization, ("Breach log", "incidents:breach-log"))
    if not breaches:
        return Evidence(
            Status.MET,
            f"{len(incidents)} incidents recorded, none assessed as a breach: no notice "
            "is required (164.414(b): the signed assessments document why).",
            facts,
            links,
        )
    late_refs = _refs([i for i in breaches if i.pk in late])
    parts = [f"{tally.good} of {len(notices)} required notices sent by their deadline"]
    if late:
        parts.append(f"late or overdue ({ours_late} of them ours to clients): {late_refs}")
    if tally.pending:
        parts.append(f"{tally.pending} not yet due")
    return Evidence(tally.status(), "; ".join(parts) + ".", facts, links)


@evidence_for("B5")
def corrective_actions_verified(
    organization: Organization, today: dt.date | None = None
) -> Evidence:
    """Corrective actions of closed incidents all verified; none overdue unverified."""
    today = today or timezone.localdate()
    incidents = _incidents(organization)
    if not incidents:
        return _no_incidents(organization)
    tally = Tally()
    overdue, closed_unverified = [], []
    actions = verified = 0
    for incident in incidents:
        rows = list(incident.actions.all())
        actions += len(rows)
        verified += sum(1 for a in rows if a.is_verified)
        if incident.is_closed:
            if rows and all(a.is_verified for a in rows) and incident.root_cause.strip():
                tally.good += 1
            else:
                tally.bad += 1
                closed_unverified.append(incident)
            continue
        late = [a for a in rows if not a.is_verified and a.due_on < today]
        if late:
            tally.bad += 1
            overdue.append(incident)
        else:
            tally.pending += 1
    facts: Facts = {
        "incidents": len(incidents),
        "closed": sum(1 for i in incidents if i.is_closed),
        "corrective_actions": actions,
        "verified": verified,
        "incidents_with_overdue_unverified_actions": len(overdue),
        "closed_without_verified_actions_or_root_cause": len(closed_unverified),
    }
    parts = [f"{verified} of {actions} corrective actions verified"]
    parts.append(
        f"{tally.good} of {facts['closed']} closed incidents have a root cause and every "
        "action verified"
    )
    if overdue:
        parts.append(f"overdue unverified actions: {_refs(overdue)}")
    if closed_unverified:
        parts.append(f"closed without that: {_refs(closed_unverified)}")
    if tally.pending:
        parts.append(f"{tally.pending} open incidents with nothing overdue")
    return Evidence(tally.status(), "; ".join(parts) + ".", facts, _links(organization))


def _record_gaps(incident: Incident) -> list[str]:
    """What a closed incident's record lacks to be complete."""
    gaps = []
    if not incident.root_cause.strip():
        gaps.append("root cause")
    assessment = current_assessment(incident)
    if assessment is None:
        gaps.append("signed assessment")
    elif (
        assessment.is_breach
        and incident.notices.filter(
            recipient=Notice.Recipient.CLIENT, sent_at__isnull=True
        ).exists()
    ):
        gaps.append("client notices sent")
    if incident.officers_notified_at is None:
        gaps.append("officer notice")
    if not incident.steps.exists() or incident.steps.filter(done_at__isnull=True).exists():
        gaps.append("containment steps with times")
    if incident.closed_at is None or incident.closed_by_id is None:
        gaps.append("closing date and officer")
    return gaps


DISCLOSURES_PENDING = (
    "The accounting of disclosures (164.528) waits for the disclosures module, so this "
    "item is at most partly met."
)


@evidence_for("R4")
def incident_records_complete(organization: Organization) -> Evidence:
    """The incident half of R4: closed incidents have a root cause, a signed assessment
    and a complete timeline (officer notice, containment with times, notices, closing).
    The disclosure-accounting half is not built yet, so the status is at most PARTIAL."""
    incidents = _incidents(organization)
    if not incidents:
        return Evidence(
            Status.NOT_MEASURED,
            f"{NO_INCIDENTS} {DISCLOSURES_PENDING}",
            {"incidents": 0, "disclosure_accounting_measured": False},
            _links(organization),
        )
    closed = [i for i in incidents if i.is_closed]
    incomplete = {i.reference: gaps for i in closed if (gaps := _record_gaps(i))}
    complete = len(closed) - len(incomplete)
    facts: Facts = {
        "incidents": len(incidents),
        "closed": len(closed),
        "closed_records_complete": complete,
        "disclosure_accounting_measured": False,
    }
    parts = [f"{complete} of {len(closed)} closed incident records are complete"]
    for reference, gaps in list(incomplete.items())[:5]:
        parts.append(f"{reference} lacks {', '.join(gaps)}")
    summary = "; ".join(parts) + f". {DISCLOSURES_PENDING}"
    status = Status.NOT_MET if closed and not complete else Status.PARTIAL
    return Evidence(status, summary, facts, _links(organization))
