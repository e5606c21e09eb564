"""Scheduled reviews of the audit trail: periods, the period summary, sign-off, and the
obligations that overdue reviews become.

45 CFR 164.308(a)(1)(ii)(D) requires procedures to "regularly review records of
information system activity, such as audit logs, access reports, and security incident
tracking reports"; 164.308(a)(5)(ii)(C) adds log-in monitoring. The organization picks a
cadence (weekly or monthly); each complete period is due for review within
REVIEW_GRACE_DAYS of its end, and the signed review keeps the summary the reviewer saw
and the sealed log's size and root at that moment.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import Membership, Organization
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import LOGIN_FAILURE_CODES, EventCode, Outcome, is_export
from phiwarden.audit.models import (
    AuditEvent,
    AuditEventPatient,
    AuditReview,
    AuditReviewSchedule,
    ReviewCadence,
    ReviewFinding,
    log_id_for,
)
from phiwarden.audit.sealing import latest_tree_head
from phiwarden.audit.services import audit_event_record
from phiwarden.core.obligations import Obligation, obligation_provider

REVIEW_GRACE_DAYS = 7
TOP_PATIENTS_PER_MEMBER = 5
# Obligations list at most this many overdue periods; the review page lists them all.
MAX_OBLIGATIONS = 12
CITATION = "45 CFR 164.308(a)(1)(ii)(D)"

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class ReviewPeriod:
    """[start, end) in whole days; `key` names it in URLs: 2026-W47 or 2026-11."""

    start: dt.date
    end: dt.date
    cadence: str

    @property
    def key(self) -> str:
        if self.cadence == ReviewCadence.WEEKLY:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        last = self.end - dt.timedelta(days=1)
        if self.cadence == ReviewCadence.WEEKLY:
            return f"Week {self.key} ({self.start:%b %d} to {last:%b %d, %Y})"
        return f"{self.start:%B %Y}"

    @property
    def due_on(self) -> dt.date:
        return self.end + dt.timedelta(days=REVIEW_GRACE_DAYS - 1)

    def is_complete(self, today: dt.date) -> bool:
        return self.end <= today


def period_containing(day: dt.date, cadence: str) -> ReviewPeriod:
    if cadence == ReviewCadence.WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        return ReviewPeriod(start, start + dt.timedelta(days=7), cadence)
    start = day.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return ReviewPeriod(start, end, cadence)


def period_from_key(key: str) -> ReviewPeriod:
    """Parse a period key; an impossible one is a 404, never a 500."""
    try:
        if match := _WEEK.match(key):
            start = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return ReviewPeriod(start, start + dt.timedelta(days=7), ReviewCadence.WEEKLY)
        if match := _MONTH.match(key):
            return period_containing(
                dt.date(int(match[1]), int(match[2]), 1), ReviewCadence.MONTHLY
            )
    except ValueError:
        pass
    raise Http404


def periods_between(first_day: dt.date, today: dt.date, cadence: str) -> list[ReviewPeriod]:
    """Every complete period from the one holding `first_day` up to today, oldest first."""
    periods = []
    period = period_containing(first_day, cadence)
    while period.is_complete(today):
        periods.append(period)
        period = period_containing(period.end, cadence)
    return periods


# --- Schedule --------------------------------------------------------------------


def schedule_for(organization: Organization) -> AuditReviewSchedule:
    """The organization's schedule; without one, monthly from the day it joined (a review
    program with no cadence is the unsafe default, so there is none)."""
    schedule = AuditReviewSchedule.objects.filter(organization=organization).first()
    if schedule is not None:
        return schedule
    return AuditReviewSchedule(
        organization=organization,
        cadence=ReviewCadence.MONTHLY,
        starts_on=timezone.localdate(organization.created_at),
    )


def schedule_is_defined(organization: Organization) -> bool:
    return AuditReviewSchedule.objects.filter(organization=organization).exists()


def audit_review_schedule_set(*, actor: Membership, cadence: str) -> AuditReviewSchedule:
    capability_require(actor, Capability.AUDIT_REVIEW)
    if cadence not in ReviewCadence.values:
        raise ValidationError({"cadence": "Choose weekly or monthly."})
    organization = actor.organization
    with transaction.atomic():
        schedule = schedule_for(organization)
        previous = schedule.cadence if schedule.pk else ""
        if schedule.pk is None:
            schedule.starts_on = timezone.localdate()
        schedule.cadence = cadence
        schedule.save()
        audit_event_record(
            actor=actor.user,
            organization=organization,
            event_code=EventCode.AUDIT_REVIEW_SCHEDULE_CHANGED,
            target=schedule,
            data={"cadence": cadence, "previous": previous},
        )
    return schedule


def _zone(schedule: AuditReviewSchedule) -> ZoneInfo:
    try:
        return ZoneInfo(schedule.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- The period summary ---------------------------------------------------------------


@dataclass(frozen=True)
class MemberActivity:
    actor_id: int
    label: str
    events: int
    patient_reads: int
    denied: int
    after_hours: int
    exports: int
    top_patients: list[tuple[int, int]]  # (patient id, events), only for officers


@dataclass(frozen=True)
class ReviewSummary:
    period: ReviewPeriod
    events: int
    logins: int
    login_failures: int
    exports: int
    denied: int
    after_hours: int
    unsealed: int
    members: list[MemberActivity]

    def as_json(self) -> dict[str, Any]:
        """What the signed review keeps: counts per member, never patient ids."""
        return {
            "period": self.period.key,
            "events": self.events,
            "logins": self.logins,
            "login_failures": self.login_failures,
            "exports": self.exports,
            "denied": self.denied,
            "after_hours": self.after_hours,
            "unsealed": self.unsealed,
            "members": [
                {
                    "actor_id": m.actor_id,
                    "label": m.label,
                    "events": m.events,
                    "patient_reads": m.patient_reads,
                    "denied": m.denied,
                    "after_hours": m.after_hours,
                    "exports": m.exports,
                    "patients_shown": len(m.top_patients),
                }
                for m in self.members
            ],
        }


def _period_bounds(period: ReviewPeriod, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(period.end, dt.time.min, tzinfo=zone)
    return start, end


def _after_hours_q(schedule: AuditReviewSchedule) -> Q:
    """Outside business hours in the organization's zone, or on a weekend."""
    return (
        Q(local_hour__lt=schedule.business_hours_start)
        | Q(local_hour__gte=schedule.business_hours_end)
        | Q(local_weekday__gte=6)
    )


def _events_in(
    organization: Organization, period: ReviewPeriod, zone: ZoneInfo
) -> QuerySet[AuditEvent]:
    start, end = _period_bounds(period, zone)
    return AuditEvent.objects.for_organization(organization).filter(
        occurred_at__gte=start, occurred_at__lt=end
    )


def review_summary(
    *, membership: Membership, period: ReviewPeriod, with_patients: bool | None = None
) -> ReviewSummary:
    """The period's activity. Top patients per member need audit.view_patient_ids."""
    capability_require(membership, Capability.AUDIT_VIEW)
    organization = membership.organization
    if with_patients is None:
        with_patients = membership.can(Capability.AUDIT_VIEW_PATIENT_IDS)
    elif with_patients:
        capability_require(membership, Capability.AUDIT_VIEW_PATIENT_IDS)
    schedule = schedule_for(organization)
    zone = _zone(schedule)
    events = _events_in(organization, period, zone).annotate(
        local_hour=ExtractHour("occurred_at", tzinfo=zone),
        local_weekday=ExtractIsoWeekDay("occurred_at", tzinfo=zone),
    )
    export_codes = [code for code in EventCode.values if is_export(code)]
    after_hours = _after_hours_q(schedule) & Q(actor__isnull=False)
    totals = events.aggregate(
        events=Count("id"),
        logins=Count("id", filter=Q(event_code=EventCode.LOGIN_SUCCEEDED)),
        login_failures=Count("id", filter=Q(event_code__in=LOGIN_FAILURE_CODES)),
        exports=Count("id", filter=Q(event_code__in=export_codes)),
        denied=Count("id", filter=Q(outcome=Outcome.DENIED)),
        after_hours=Count("id", filter=after_hours),
        unsealed=Count("id", filter=Q(leaf__isnull=True)),
    )
    per_member = (
        events.filter(actor__isnull=False)
        .values("actor_id", "actor_label")
        .annotate(
            n=Count("id"),
            denied=Count("id", filter=Q(outcome=Outcome.DENIED)),
            after_hours=Count("id", filter=_after_hours_q(schedule)),
            exports=Count("id", filter=Q(event_code__in=export_codes)),
        )
        .order_by("-n", "actor_id")
    )
    start, end = _period_bounds(period, zone)
    touches = (
        AuditEventPatient.objects.filter(
            organization=organization,
            event__occurred_at__gte=start,
            event__occurred_at__lt=end,
            event__actor__isnull=False,
        )
        .values("event__actor_id", "patient_id")
        .annotate(n=Count("event_id"))
        .order_by("event__actor_id", "-n", "patient_id")
    )
    reads: dict[int, int] = defaultdict(int)
    top: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row in touches:
        actor_id = row["event__actor_id"]
        reads[actor_id] += row["n"]
        if with_patients and len(top[actor_id]) < TOP_PATIENTS_PER_MEMBER:
            top[actor_id].append((row["patient_id"], row["n"]))
    members = [
        MemberActivity(
            actor_id=row["actor_id"],
            label=row["actor_label"],
            events=row["n"],
            patient_reads=reads.get(row["actor_id"], 0),
            denied=row["denied"],
            after_hours=row["after_hours"],
            exports=row["exports"],
            top_patients=top.get(row["actor_id"], []),
        )
        for row in per_member
    ]
    return ReviewSummary(period=period, members=members, **totals)


# --- Reviews: due, signed --------------------------------------------------------------


@dataclass(frozen=True)
class PeriodStatus:
    period: ReviewPeriod
    review: AuditReview | None

    def overdue(self, today: dt.date) -> bool:
        return self.review is None and self.period.due_on < today


def review_periods(organization: Organization, today: dt.date | None = None) -> list[PeriodStatus]:
    """Every complete period since the schedule started, newest first, with its review."""
    today = today or timezone.localdate()
    schedule = schedule_for(organization)
    signed = {
        (r.period_start, r.period_end): r
        for r in AuditReview.objects.for_organization(organization)
    }
    periods = periods_between(schedule.starts_on, today, schedule.cadence)
    # Reviews signed under an earlier cadence stay listed.
    known = {(p.start, p.end) for p in periods}
    for (start, end), review in signed.items():
        if (start, end) not in known:
            periods.append(ReviewPeriod(start, end, review.cadence))
    return [PeriodStatus(p, signed.get((p.start, p.end))) for p in sorted(periods, reverse=True)]


def review_periods_for_user(*, membership: Membership) -> list[PeriodStatus]:
    capability_require(membership, Capability.AUDIT_VIEW)
    return review_periods(membership.organization)


def audit_review_get(*, membership: Membership, period: ReviewPeriod) -> AuditReview | None:
    capability_require(membership, Capability.AUDIT_VIEW)
    return (
        AuditReview.objects.for_organization(membership.organization)
        .filter(period_start=period.start, period_end=period.end)
        .first()
    )


def audit_review_sign(
    *, actor: Membership, period: ReviewPeriod, finding: str, notes: str
) -> AuditReview:
    """Sign off one complete period. Signing twice (a double submit, or two officers at
    once) is refused with a clear message; the first signature stands."""
    capability_require(actor, Capability.AUDIT_REVIEW)
    organization = actor.organization
    if not period.is_complete(timezone.localdate()):
        raise ValidationError("This period has not ended yet; review it once it is over.")
    if finding not in ReviewFinding.values:
        raise ValidationError({"finding": "Choose what the review found."})
    if not notes.strip():
        raise ValidationError({"notes": "Say what you reviewed and what you concluded."})
    summary = review_summary(membership=actor, period=period, with_patients=False)
    head = latest_tree_head(log_id_for(organization.pk))
    try:
        with transaction.atomic():
            review = AuditReview.objects.create(
                organization=organization,
                cadence=period.cadence,
                period_start=period.start,
                period_end=period.end,
                reviewer=actor.user,
                reviewer_label=actor.user.get_username(),
                signed_at=timezone.now(),
                finding=finding,
                notes=notes.strip(),
                summary=summary.as_json(),
                tree_size=head.tree_size if head else 0,
                root_hash=bytes(head.root_hash).hex() if head else "",
            )
            audit_event_record(
                actor=actor.user,
                organization=organization,
                event_code=EventCode.AUDIT_REVIEW_SIGNED,
                target=review,
                data={"period": period.key, "finding": finding},
            )
    except IntegrityError as error:
        raise ValidationError("This period's review is already signed.") from error
    return review


# --- Obligations ------------------------------------------------------------------


@obligation_provider("audit.review")
def review_obligations(organization: Organization) -> list[Obligation]:
    """The unsigned periods, and the current period once it ends."""
    today = timezone.localdate()
    schedule = schedule_for(organization)
    statuses = review_periods(organization, today)
    unsigned = [s.period for s in statuses if s.review is None][:MAX_OBLIGATIONS]
    current = period_containing(today, schedule.cadence)
    if current.start >= period_containing(schedule.starts_on, schedule.cadence).start:
        unsigned.append(current)
    return [
        Obligation(
            kind="audit.review",
            title=f"Review the audit trail: {period.label}",
            due_on=period.due_on,
            url=reverse(
                "audit:review-detail",
                kwargs={"org_slug": organization.slug, "period": period.key},
            ),
            citation=CITATION,
            owner="Privacy or security officer",
        )
        for period in unsigned
    ]
