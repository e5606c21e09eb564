"""Scheduled audit-trail reviews: periods, the period summary, sign-off, obligations and
the checklist evidence they feed (45 CFR 164.308(a)(1)(ii)(D))."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.http import Http404

from phiwarden.accounts.models import Organization
from phiwarden.accounts.roles import Role
from phiwarden.audit import reviews
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent, AuditReview, ReviewCadence, ReviewFinding
from phiwarden.audit.services import audit_event_record
from phiwarden.compliance.registry import Status, checklist_measure
from phiwarden.core.obligations import Urgency, open_obligations

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")  # the schedule's default zone


# --- Periods ---------------------------------------------------------------------------


def test_weekly_periods_run_monday_to_monday():
    period = reviews.period_containing(dt.date(2026, 11, 27), ReviewCadence.WEEKLY)  # a Friday

    assert (period.start, period.end) == (dt.date(2026, 11, 23), dt.date(2026, 11, 30))
    assert period.key == "2026-W48"
    assert reviews.period_from_key("2026-W48") == period


def test_monthly_periods_are_calendar_months_across_year_end_and_leap_day():
    december = reviews.period_containing(dt.date(2026, 12, 31), ReviewCadence.MONTHLY)
    february = reviews.period_containing(dt.date(2028, 2, 29), ReviewCadence.MONTHLY)

    assert (december.start, december.end) == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert (february.start, february.end) == (dt.date(2028, 2, 1), dt.date(2028, 3, 1))
    assert reviews.period_from_key("2028-02") == february


def test_iso_week_53_and_the_week_that_straddles_new_year():
    last = reviews.period_from_key("2026-W53")  # 2026 has 53 ISO weeks

    assert (last.start, last.end) == (dt.date(2026, 12, 28), dt.date(2027, 1, 4))
    assert reviews.period_containing(dt.date(2027, 1, 2), ReviewCadence.WEEKLY) == last


@pytest.mark.parametrize("key", ["2025-13", "2025-00", "2025-W54", "2027-W53", "x", "2025-1"])
def test_impossible_period_keys_are_404_not_errors(key):
    with pytest.raises(Http404):
        reviews.period_from_key(key)


def test_only_complete_periods_are_due():
    periods = reviews.periods_between(dt.date(2026, 9, 15), dt.date(2026, 11, 27), "monthly")

    assert [p.key for p in periods] == ["2026-09", "2026-10"]
    assert periods[-1].due_on == dt.date(2026, 11, 7)  # seven days to review, counting the 1st


# --- The summary -----------------------------------------------------------------------


def _event(membership, at, code, *, outcome=Outcome.ALLOWED, patients=()):
    with time_machine.travel(at, tick=False):
        return audit_event_record(
            actor=membership.user,
            organization=membership.organization,
            event_code=code,
            outcome=outcome,
            patient_ids=list(patients),
        )


@pytest.fixture
def november(organization, privacy_officer, biller, make_member):
    """A busy November 2026 for the organization (its reviews run on New York time)."""
    coder = make_member(Role.CODER)
    weekday_noon = dt.datetime(2026, 11, 4, 12, 0, tzinfo=NEW_YORK)
    late_evening = dt.datetime(2026, 11, 4, 21, 30, tzinfo=NEW_YORK)
    saturday = dt.datetime(2026, 11, 7, 10, 0, tzinfo=NEW_YORK)
    _event(biller, weekday_noon, EventCode.LOGIN_SUCCEEDED)
    _event(biller, weekday_noon, EventCode.LOGIN_FAILED, outcome=Outcome.FAILED)
    _event(biller, late_evening, EventCode.ACCESS_DENIED, outcome=Outcome.DENIED)
    _event(biller, weekday_noon, EventCode.AUDIT_SEARCHED, patients=[11, 12])
    _event(biller, weekday_noon, EventCode.AUDIT_SEARCHED, patients=[11])
    _event(coder, saturday, EventCode.AUDIT_EXPORTED, patients=[13])
    _event(privacy_officer, weekday_noon, EventCode.LOGIN_SUCCEEDED)
    # Outside the period: the last minute of October and the first of December (New York).
    _event(biller, dt.datetime(2026, 10, 31, 23, 59, tzinfo=NEW_YORK), EventCode.LOGIN_FAILED)
    _event(biller, dt.datetime(2026, 12, 1, 0, 0, tzinfo=NEW_YORK), EventCode.LOGIN_FAILED)
    return reviews.period_from_key("2026-11"), coder


def test_summary_counts_the_period_in_the_organizations_time_zone(november, privacy_officer):
    period, _ = november

    summary = reviews.review_summary(membership=privacy_officer, period=period)

    assert (summary.events, summary.logins, summary.login_failures) == (7, 2, 1)
    assert (summary.exports, summary.denied) == (1, 1)
    assert summary.after_hours == 2  # the evening denial and the Saturday export
    assert summary.unsealed == 7


def test_summary_lists_each_members_most_accessed_patients(november, privacy_officer, biller):
    period, coder = november

    summary = reviews.review_summary(membership=privacy_officer, period=period)
    by_member = {m.actor_id: m for m in summary.members}

    assert by_member[biller.user_id].top_patients == [(11, 2), (12, 1)]
    assert by_member[biller.user_id].patient_reads == 3
    assert by_member[coder.user_id].top_patients == [(13, 1)]
    assert by_member[coder.user_id].after_hours == 1
    assert by_member[coder.user_id].exports == 1


def test_auditors_see_the_counts_but_no_patient_ids(november, auditor):
    period, _ = november

    summary = reviews.review_summary(membership=auditor, period=period)

    assert summary.events == 7
    assert all(m.top_patients == [] for m in summary.members)
    with pytest.raises(PermissionDenied):
        reviews.review_summary(membership=auditor, period=period, with_patients=True)


# --- Signing ---------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 12, 3, 15, 0, tzinfo=UTC), tick=False)
def test_an_officer_signs_a_complete_period_once(november, privacy_officer):
    period, _ = november
    call_command("audit_seal", stdout=io.StringIO())

    review = reviews.audit_review_sign(
        actor=privacy_officer, period=period, finding=ReviewFinding.NO_ISSUES, notes="Looked."
    )

    assert review.summary["events"] == 7
    assert "top_patients" not in str(review.summary)  # the stored summary holds no patient ids
    assert review.tree_size > 0
    assert len(review.root_hash) == 64
    signed = AuditEvent.objects.filter(event_code=EventCode.AUDIT_REVIEW_SIGNED).get()
    assert signed.data == {"period": "2026-11", "finding": "no_issues"}
    with pytest.raises(ValidationError, match="already signed"):
        reviews.audit_review_sign(
            actor=privacy_officer, period=period, finding=ReviewFinding.OPEN, notes="Again."
        )
    assert AuditReview.objects.count() == 1


@time_machine.travel(dt.datetime(2026, 11, 20, 15, 0, tzinfo=UTC), tick=False)
def test_a_running_period_cannot_be_signed(november, privacy_officer):
    period, _ = november

    with pytest.raises(ValidationError, match="not ended"):
        reviews.audit_review_sign(
            actor=privacy_officer, period=period, finding=ReviewFinding.NO_ISSUES, notes="Early."
        )
    assert AuditReview.objects.count() == 0


@time_machine.travel(dt.datetime(2026, 12, 3, 15, 0, tzinfo=UTC), tick=False)
def test_signing_needs_notes_and_a_finding(november, privacy_officer):
    period, _ = november

    with pytest.raises(ValidationError):
        reviews.audit_review_sign(
            actor=privacy_officer, period=period, finding=ReviewFinding.NO_ISSUES, notes="  "
        )
    with pytest.raises(ValidationError):
        reviews.audit_review_sign(
            actor=privacy_officer, period=period, finding="fine", notes="Looked."
        )
    assert AuditReview.objects.count() == 0


@time_machine.travel(dt.datetime(2026, 12, 3, 15, 0, tzinfo=UTC), tick=False)
@pytest.mark.parametrize("role", [Role.AUDITOR, Role.BILLING_MANAGER, Role.CODER])
def test_only_reviewers_sign_and_a_refusal_writes_only_the_denial(role, november, make_member):
    period, _ = november
    member = make_member(role, email=f"signer-{role.value}@example.test")
    before = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied):
        reviews.audit_review_sign(
            actor=member, period=period, finding=ReviewFinding.NO_ISSUES, notes="Looked."
        )

    assert AuditReview.objects.count() == 0
    new = list(AuditEvent.objects.order_by("pk")[before:].values_list("event_code", flat=True))
    assert new == [EventCode.ACCESS_DENIED]


# --- Schedule, obligations and evidence ---------------------------------------------------


def _joined(organization: Organization, day: dt.date) -> None:
    Organization.objects.filter(pk=organization.pk).update(
        created_at=dt.datetime.combine(day, dt.time(12), tzinfo=UTC)
    )
    organization.refresh_from_db()


@time_machine.travel(dt.datetime(2026, 11, 27, 15, 0, tzinfo=UTC), tick=False)
def test_unsigned_periods_become_obligations_until_signed(organization, privacy_officer):
    _joined(organization, dt.date(2026, 9, 10))
    today = dt.date(2026, 11, 27)

    due = [o for o in open_obligations(organization) if o.kind == "audit.review"]

    assert [o.title for o in due] == [
        "Review the audit trail: September 2026",
        "Review the audit trail: October 2026",
        "Review the audit trail: November 2026",
    ]
    assert [o.urgency(today) for o in due] == [Urgency.OVERDUE, Urgency.OVERDUE, Urgency.DUE_SOON]
    assert all(o.citation == reviews.CITATION for o in due)

    for key in ("2026-09", "2026-10"):
        reviews.audit_review_sign(
            actor=privacy_officer,
            period=reviews.period_from_key(key),
            finding=ReviewFinding.NO_ISSUES,
            notes="Reviewed.",
        )

    due = [o for o in open_obligations(organization) if o.kind == "audit.review"]
    assert [o.title for o in due] == ["Review the audit trail: November 2026"]


@time_machine.travel(dt.datetime(2026, 11, 27, 15, 0, tzinfo=UTC), tick=False)
def test_changing_the_cadence_is_audited_and_moves_the_periods(organization, privacy_officer):
    _joined(organization, dt.date(2026, 9, 10))

    reviews.audit_review_schedule_set(actor=privacy_officer, cadence=ReviewCadence.WEEKLY)

    event = AuditEvent.objects.get(event_code=EventCode.AUDIT_REVIEW_SCHEDULE_CHANGED)
    assert event.data == {"cadence": "weekly", "previous": ""}
    statuses = reviews.review_periods(organization, dt.date(2026, 11, 27))
    assert statuses == []  # weekly from today: the first week has not ended
    with pytest.raises(ValidationError):
        reviews.audit_review_schedule_set(actor=privacy_officer, cadence="hourly")


def _status(organization, item_id):
    return {r.item.id: r.evidence for r in checklist_measure(organization)}[item_id]


@time_machine.travel(dt.datetime(2026, 11, 27, 15, 0, tzinfo=UTC), tick=False)
def test_review_evidence_moves_from_not_met_to_met(organization, privacy_officer):
    _joined(organization, dt.date(2026, 9, 10))
    assert _status(organization, "K3").status == Status.NOT_MET
    assert _status(organization, "R3").status == Status.NOT_MET

    reviews.audit_review_schedule_set(actor=privacy_officer, cadence=ReviewCadence.MONTHLY)
    for key in ("2026-09", "2026-10"):
        reviews.audit_review_sign(
            actor=privacy_officer,
            period=reviews.period_from_key(key),
            finding=ReviewFinding.NO_ISSUES,
            notes="Reviewed.",
        )

    assert _status(organization, "K3").status == Status.MET
    # Access-rights reviews are not measured yet, so R3 cannot be more than partly met.
    assert _status(organization, "R3").status == Status.PARTIAL


@time_machine.travel(dt.datetime(2026, 11, 27, 15, 0, tzinfo=UTC), tick=False)
def test_an_open_finding_keeps_k3_partial(organization, privacy_officer):
    _joined(organization, dt.date(2026, 10, 10))
    reviews.audit_review_sign(
        actor=privacy_officer,
        period=reviews.period_from_key("2026-10"),
        finding=ReviewFinding.OPEN,
        notes="Two after-hours look-ups by one member; asked the manager.",
    )

    evidence = _status(organization, "K3")

    assert evidence.status == Status.PARTIAL
    assert evidence.facts["open_findings"] == 1


@time_machine.travel(dt.datetime(2026, 11, 27, 15, 0, tzinfo=UTC), tick=False)
def test_a4_needs_a_recent_passing_verification(organization, privacy_officer):
    _joined(organization, dt.date(2026, 11, 10))  # no period has ended: nothing overdue
    audit_event_record(
        actor=privacy_officer.user, organization=organization, event_code=EventCode.LOGGED_OUT
    )
    assert _status(organization, "A4").status == Status.PARTIAL  # never verified

    call_command("audit_seal", stdout=io.StringIO())
    call_command("audit_verify", stdout=io.StringIO())

    evidence = _status(organization, "A4")
    assert evidence.status == Status.MET
    assert evidence.facts["last_verification_ok"] is True
    with time_machine.travel(dt.datetime(2026, 12, 6, 15, 0, tzinfo=UTC), tick=False):
        assert _status(organization, "A4").status == Status.PARTIAL  # stale verification
