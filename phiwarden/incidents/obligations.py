"""The incidents app's open obligations, registered with core.obligations from
IncidentsConfig.ready():

* an open incident without a signed risk assessment: assess it before its earliest
  client deadline, or within 60 days of discovery while no client is named yet
  (45 CFR 164.402(2), 164.410(b));
* every unsent notice of a breach (the decision in force is "breach"): ours to each
  client (164.410), and the client's own notices we track for it (individuals 164.404,
  HHS 164.408, media 164.406), each due on its computed date;
* every unverified corrective action, due on its due date (164.308(a)(1)(ii)(B)).

Titles name the incident reference and clients only: never a patient, never the
reporter's narrative.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.urls import reverse

from phiwarden.accounts.models import Organization
from phiwarden.core.obligations import Obligation, obligation_provider
from phiwarden.incidents.deadlines import client_notice_deadline
from phiwarden.incidents.models import CorrectiveAction, Incident, Notice
from phiwarden.incidents.selectors import earliest_deadline
from phiwarden.incidents.services.assessment import current_assessment

ASSESS_CITATION = "45 CFR 164.402(2), 164.410(b)"
ACTION_CITATION = "45 CFR 164.308(a)(1)(ii)(B), 164.308(a)(6)(ii)"
OFFICER = "Privacy officer"
R = Notice.Recipient


def incident_url(incident: Incident) -> str:
    return reverse(
        "incidents:detail",
        kwargs={"org_slug": incident.organization.slug, "incident_id": incident.pk},
    )


def assessment_due_on(incident: Incident) -> dt.date:
    """The day the assessment must be signed by: the earliest deadline of our notices to
    the affected clients (their BAA windows, at most 60 days), or 60 days after discovery
    while no client is named yet (164.410(b)); a law-enforcement delay moves it (164.412)."""
    earliest = earliest_deadline(incident)
    if earliest is not None:
        return earliest
    return client_notice_deadline(
        incident.discovered_on, None, incident.law_enforcement_delay()
    ).due_on


def _assessment_obligations(organization: Organization) -> Iterator[Obligation]:
    incidents = (
        Incident.objects.for_organization(organization)
        .exclude(status=Incident.Status.CLOSED)
        .exclude(assessments__signed_at__isnull=False)
        .select_related("organization")
    )
    for incident in incidents:
        yield Obligation(
            kind="incidents.assessment",
            title=f"Assess incident {incident.reference}",
            due_on=assessment_due_on(incident),
            url=incident_url(incident),
            citation=ASSESS_CITATION,
            owner=OFFICER,
        )


def notice_title(notice: Notice) -> str:
    reference, client = notice.incident.reference, notice.client.name
    if notice.recipient == R.CLIENT:
        return f"Notify {client} of {reference}"
    if notice.recipient == R.INDIVIDUALS:
        return f"Client {client} must notify individuals of {reference}"
    if notice.recipient == R.MEDIA:
        return f"Client {client} must notify media in {notice.state} of {reference}"
    if "164.408(c)" in notice.citation:
        return f"Client {client} must report {reference} to HHS (yearly breach log)"
    return f"Client {client} must notify HHS of {reference}"


def _notice_obligations(organization: Organization) -> Iterator[Obligation]:
    notices = (
        Notice.objects.for_organization(organization)
        .filter(sent_at__isnull=True)
        .select_related("incident__organization", "client")
        .order_by("incident", "due_on", "pk")
    )
    in_force: dict[int, bool] = {}
    for notice in notices:
        incident = notice.incident
        if incident.pk not in in_force:
            assessment = current_assessment(incident)
            in_force[incident.pk] = assessment is not None and assessment.is_breach
        if not in_force[incident.pk]:
            continue  # a later version decided it was not a breach
        ours = notice.recipient == R.CLIENT
        yield Obligation(
            kind="incidents.notice_client" if ours else f"incidents.notice_{notice.recipient}",
            title=notice_title(notice),
            due_on=notice.due_on,
            url=incident_url(incident),
            citation=notice.citation,
            owner=OFFICER if ours else f"{notice.client.name} (tracked for the client)",
        )


def _action_obligations(organization: Organization) -> Iterator[Obligation]:
    actions = (
        CorrectiveAction.objects.for_organization(organization)
        .filter(verified_at__isnull=True)
        .select_related("incident__organization", "owner")
    )
    for action in actions:
        reference = action.incident.reference
        if action.done_at is None:
            title = f"Complete the corrective action of {reference}: {action.description}"
            owner = action.owner.full_name or action.owner.email
        else:
            title = f"Verify the corrective action of {reference}: {action.description}"
            owner = OFFICER
        yield Obligation(
            kind="incidents.corrective_action",
            title=title[:200],
            due_on=action.due_on,
            url=incident_url(action.incident),
            citation=ACTION_CITATION,
            owner=owner,
        )


@obligation_provider("incidents")
def incident_obligations(organization: Organization) -> list[Obligation]:
    """Open obligations of the incidents app: assessments, notices, corrective actions."""
    return [
        *_assessment_obligations(organization),
        *_notice_obligations(organization),
        *_action_obligations(organization),
    ]
