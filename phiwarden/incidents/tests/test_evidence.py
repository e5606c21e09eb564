"""Checklist evidence for B1-B5 and R4, measured from incident rows with known answers.
Time is frozen; rows are made directly (helpers shared with test_obligations)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from phiwarden.compliance.evidence.incidents import (
    assessments_on_time,
    containment_recorded,
    corrective_actions_verified,
    incident_records_complete,
    notices_on_time,
    officers_notified,
)
from phiwarden.compliance.registry import Status, checklist_measure
from phiwarden.incidents.models import (
    Assessment,
    ContainmentStep,
    CorrectiveAction,
    EvidenceSnapshot,
    Incident,
    Notice,
)
from phiwarden.incidents.tests.factories import make_incident, notice, scoping, sign
from phiwarden.partners.tests.factories import make_vendor, sign_baa

pytestmark = pytest.mark.django_db
D = dt.date
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
DECISION = Assessment.Decision


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def reported(officer, number, *, at=NOW - dt.timedelta(days=20), **fields):
    """An incident reported at `at`, with its officers told an hour later."""
    with time_machine.travel(at, tick=False):
        return make_incident(
            officer,
            number,
            discovered_on=fields.pop("discovered_on", at.date()),
            officers_notified_at=fields.pop("officers_notified_at", at + dt.timedelta(hours=1)),
            **fields,
        )


def step(officer, incident, key, *, done=True):
    return ContainmentStep.objects.create(
        organization=officer.organization,
        incident=incident,
        key=key,
        title=key,
        done_at=timezone.now() - dt.timedelta(days=10) if done else None,
        done_by=officer.user if done else None,
    )


def snapshot(officer, incident):
    return EvidenceSnapshot.objects.create(
        organization=officer.organization,
        incident=incident,
        taken_by=officer.user,
        query={},
        events_digest="0" * 64,
    )


def signed_on(officer, incident, day, decision=DECISION.LOW_PROBABILITY, **kwargs):
    at = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
    with time_machine.travel(at, tick=False):
        return sign(officer, incident, decision, **kwargs)


def action(officer, incident, due_on, *, verified):
    return CorrectiveAction.objects.create(
        organization=officer.organization,
        incident=incident,
        description="Synthetic corrective action",
        owner=officer.user,
        due_on=due_on,
        done_at=timezone.now() if verified else None,
        verified_at=timezone.now() if verified else None,
        verified_by=officer.user if verified else None,
    )


def statuses(organization):
    return {
        r.item.id: r.evidence.status
        for r in checklist_measure(organization)
        if r.item.id in {"B1", "B2", "B3", "B4", "B5", "R4"}
    }


def test_no_incidents_is_said_and_left_unmeasured(organization):
    results = {r.item.id: r.evidence for r in checklist_measure(organization)}
    for item in ("B1", "B2", "B3", "B4", "B5", "R4"):
        assert results[item].status is Status.NOT_MEASURED, item
        assert results[item].summary.startswith("No incidents recorded"), item
    assert "disclosures module" in results["R4"].summary


def test_b1_containment_done_with_times_and_an_evidence_snapshot(privacy_officer):
    good = reported(privacy_officer, 1, status=Incident.Status.CONTAINED)
    step(privacy_officer, good, "officer-informed")
    step(privacy_officer, good, "evidence-sealed")
    snapshot(privacy_officer, good)
    assert containment_recorded(privacy_officer.organization).status is Status.MET

    # Assessed with a step still open and no snapshot: past triage, not contained.
    open_step = reported(privacy_officer, 2, status=Incident.Status.ASSESSED)
    step(privacy_officer, open_step, "officer-informed")
    step(privacy_officer, open_step, "revoke-tokens", done=False)
    evidence = containment_recorded(privacy_officer.organization)
    assert evidence.status is Status.PARTIAL
    assert evidence.facts["open_containment_steps"] == 1
    assert evidence.facts["without_evidence_snapshot"] == 1
    assert "1 of 2 incidents past triage" in evidence.summary
    assert "lacking: INC-" in evidence.summary


def test_b1_not_met_when_no_incident_past_triage_is_contained(privacy_officer):
    # Still "reported" after 20 days: past triage by age, nothing done.
    stuck = reported(privacy_officer, 1)
    step(privacy_officer, stuck, "officer-informed", done=False)
    assert containment_recorded(privacy_officer.organization).status is Status.NOT_MET


def test_b1_an_incident_in_triage_is_in_progress_not_a_failure(privacy_officer):
    fresh = reported(privacy_officer, 1, at=NOW - dt.timedelta(days=1))
    step(privacy_officer, fresh, "officer-informed", done=False)
    evidence = containment_recorded(privacy_officer.organization)
    assert (evidence.status, evidence.facts["in_triage"]) == (Status.PARTIAL, 1)


def test_b2_officers_told_within_a_day_and_vendor_incidents_under_their_baa(privacy_officer):
    reported(privacy_officer, 1, discovered_on=D(2026, 11, 4))  # reported 3 days later
    evidence = officers_notified(privacy_officer.organization)
    assert evidence.status is Status.MET
    assert evidence.facts["max_hours_report_to_notice"] == 1.0
    assert evidence.facts["max_days_discovery_to_report"] == 3

    vendor = make_vendor(privacy_officer)
    reported(privacy_officer, 2, kind=Incident.Kind.VENDOR, vendor=vendor)  # no BAA linked
    evidence = officers_notified(privacy_officer.organization)
    assert evidence.status is Status.PARTIAL
    assert evidence.facts["vendor_incidents_without_vendor_or_baa"] == 1

    baa = sign_baa(privacy_officer, vendor=vendor, expires_on=None)
    Incident.objects.filter(number=2).update(vendor_baa=baa)
    assert officers_notified(privacy_officer.organization).status is Status.MET


def test_b2_not_met_when_officers_were_never_told(privacy_officer):
    reported(privacy_officer, 1, officers_notified_at=None)
    late = NOW - dt.timedelta(days=20) + dt.timedelta(hours=30)
    reported(privacy_officer, 2, officers_notified_at=late)
    evidence = officers_notified(privacy_officer.organization)
    assert evidence.status is Status.NOT_MET
    assert evidence.facts["notified_late_or_never"] == 2
    assert evidence.facts["max_hours_report_to_notice"] == 30.0


def test_b3_signed_before_the_earliest_deadline(privacy_officer, clients):
    # Discovered 1 October, no BAA: due 30 November (60 days).
    first = reported(privacy_officer, 1, discovered_on=D(2026, 10, 1))
    signed_on(privacy_officer, first, D(2026, 10, 20))
    assert assessments_on_time(privacy_officer.organization).status is Status.MET

    # Client 0's BAA: 5 business days from Monday 5 October (12 October is Columbus Day).
    sign_baa(privacy_officer, client=clients[0], expires_on=None, notice_window_days=5,
             notice_window_kind="business")  # fmt: skip
    late = reported(privacy_officer, 2, discovered_on=D(2026, 10, 5), clients=clients[:1])
    signed_on(privacy_officer, late, D(2026, 10, 20), DECISION.BREACH)
    evidence = assessments_on_time(privacy_officer.organization)
    assert evidence.status is Status.PARTIAL
    assert (evidence.facts["signed_by_deadline"], evidence.facts["late_or_overdue"]) == (1, 1)
    assert "late or overdue: INC-2026-0002" in evidence.summary


def test_b3_not_met_when_the_only_assessment_is_overdue_and_partial_while_pending(
    privacy_officer,
):
    reported(privacy_officer, 1, discovered_on=D(2026, 9, 1))  # due 31 October: unsigned
    assert assessments_on_time(privacy_officer.organization).status is Status.NOT_MET
    Incident.objects.filter(number=1).update(discovered_on=D(2026, 11, 20))  # due in January
    evidence = assessments_on_time(privacy_officer.organization)
    assert (evidence.status, evidence.facts["not_yet_due"]) == (Status.PARTIAL, 1)


def breach_with_notices(officer, clients, *, our_sent_on, theirs_due):
    incident = reported(officer, 1, discovered_on=D(2026, 10, 1), clients=clients[:1])
    run = scoping(officer, incident, clients[:1])
    assessment = signed_on(officer, incident, D(2026, 10, 10), DECISION.BREACH, run=run)
    ours = notice(officer, assessment, clients[0], Notice.Recipient.CLIENT, D(2026, 11, 30),
                  "45 CFR 164.410(b)")  # fmt: skip
    Notice.objects.filter(pk=ours.pk).update(
        sent_at=dt.datetime.combine(our_sent_on, dt.time(10), tzinfo=dt.UTC)
    )
    theirs = notice(officer, assessment, clients[0], Notice.Recipient.INDIVIDUALS, theirs_due,
                    "45 CFR 164.404(b)")  # fmt: skip
    return incident, theirs


def test_b4_every_required_notice_sent_on_time(privacy_officer, clients):
    _incident, theirs = breach_with_notices(
        privacy_officer, clients, our_sent_on=D(2026, 10, 15), theirs_due=D(2026, 12, 14)
    )
    evidence = notices_on_time(privacy_officer.organization)
    assert evidence.status is Status.PARTIAL  # the individuals' notice is not due yet
    assert (evidence.facts["sent_on_time"], evidence.facts["not_yet_due"]) == (1, 1)
    Notice.objects.filter(pk=theirs.pk).update(sent_at=NOW - dt.timedelta(days=1))
    assert notices_on_time(privacy_officer.organization).status is Status.MET


def test_b4_late_and_overdue_notices(privacy_officer, clients):
    breach_with_notices(
        privacy_officer, clients, our_sent_on=D(2026, 12, 1), theirs_due=D(2026, 11, 20)
    )
    evidence = notices_on_time(privacy_officer.organization)
    assert evidence.status is Status.NOT_MET  # ours sent late, theirs overdue
    assert evidence.facts["ours_to_clients_late_or_overdue"] == 1
    assert evidence.facts["late_or_overdue"] == 2


def test_b4_no_breach_needs_no_notice(privacy_officer):
    incident = reported(privacy_officer, 1)
    signed_on(privacy_officer, incident, D(2026, 11, 10))
    evidence = notices_on_time(privacy_officer.organization)
    assert evidence.status is Status.MET
    assert "none assessed as a breach" in evidence.summary


def test_b5_verified_actions_and_overdue_ones(privacy_officer):
    closed = reported(
        privacy_officer, 1, status=Incident.Status.CLOSED, root_cause="Shared login",
        closed_at=NOW - dt.timedelta(days=2), closed_by=privacy_officer.user,
    )  # fmt: skip
    action(privacy_officer, closed, D(2026, 11, 20), verified=True)
    assert corrective_actions_verified(privacy_officer.organization).status is Status.MET

    open_incident = reported(privacy_officer, 2, status=Incident.Status.ASSESSED)
    action(privacy_officer, open_incident, D(2026, 12, 20), verified=False)  # not yet due
    assert corrective_actions_verified(privacy_officer.organization).status is Status.PARTIAL
    action(privacy_officer, open_incident, D(2026, 11, 26), verified=False)  # overdue
    evidence = corrective_actions_verified(privacy_officer.organization)
    assert evidence.status is Status.PARTIAL
    assert evidence.facts["incidents_with_overdue_unverified_actions"] == 1
    assert "overdue unverified actions: INC-2026-0002" in evidence.summary


def test_b5_not_met_with_only_overdue_actions(privacy_officer):
    incident = reported(privacy_officer, 1, status=Incident.Status.ASSESSED)
    action(privacy_officer, incident, D(2026, 11, 1), verified=False)
    assert corrective_actions_verified(privacy_officer.organization).status is Status.NOT_MET


def test_r4_complete_closed_records_are_at_most_partial(privacy_officer):
    incident = reported(
        privacy_officer, 1, status=Incident.Status.CLOSED, root_cause="Shared login",
        closed_at=NOW - dt.timedelta(days=2), closed_by=privacy_officer.user,
    )  # fmt: skip
    step(privacy_officer, incident, "officer-informed")
    signed_on(privacy_officer, incident, D(2026, 11, 10))
    evidence = incident_records_complete(privacy_officer.organization)
    assert evidence.status is Status.PARTIAL
    assert evidence.facts["closed_records_complete"] == 1
    assert "waits for the disclosures module" in evidence.summary


def test_r4_not_met_when_no_closed_record_is_complete(privacy_officer):
    reported(
        privacy_officer, 1, status=Incident.Status.CLOSED, closed_at=NOW,
        closed_by=privacy_officer.user,
    )  # fmt: skip
    evidence = incident_records_complete(privacy_officer.organization)
    assert evidence.status is Status.NOT_MET
    assert "INC-2026-0001 lacks root cause, signed assessment, containment steps" in (
        evidence.summary
    )


def test_the_registry_measures_all_six_items(privacy_officer):
    reported(privacy_officer, 1)
    assert set(statuses(privacy_officer.organization)) == {"B1", "B2", "B3", "B4", "B5", "R4"}
    assert Status.NOT_MEASURED not in statuses(privacy_officer.organization).values()
