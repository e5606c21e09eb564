"""Evidence from the audit trail: K3 and R3 (reviews on schedule), A4 (retention,
integrity and review of the logs).

45 CFR 164.308(a)(1)(ii)(D) information system activity review; 164.312(b) audit
controls; 164.316(b)(2)(i) six-year retention.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import Organization
from phiwarden.audit.models import ReviewFinding, VerificationRun, log_id_for
from phiwarden.audit.reviews import review_periods, schedule_is_defined
from phiwarden.compliance.registry import (
    Evidence,
    EvidenceLink,
    Status,
    evidence_for,
    shared_fact,
)

SIX_YEARS_DAYS = 6 * 365 + 1  # at least six years, whatever the leap days
# A verification older than this no longer shows that the log is intact now.
VERIFICATION_FRESH_DAYS = 7


def _reviews_link(organization: Organization) -> EvidenceLink:
    return EvidenceLink(
        "Audit trail reviews", reverse("audit:review-list", kwargs={"org_slug": organization.slug})
    )


def _review_facts(organization: Organization) -> dict[str, int | float | str | bool]:
    """Shared by K3, R3 and A4: computed once per checklist measurement."""
    return shared_fact(
        ("audit.review_facts", organization.pk), lambda: _compute_review_facts(organization)
    )


def _compute_review_facts(organization: Organization) -> dict[str, int | float | str | bool]:
    today = timezone.localdate()
    statuses = review_periods(organization, today)
    signed = [s for s in statuses if s.review is not None]
    return {
        "schedule_defined": schedule_is_defined(organization),
        "periods_due": len(statuses),
        "reviews_signed": len(signed),
        "reviews_overdue": sum(1 for s in statuses if s.overdue(today)),
        "open_findings": sum(
            1 for s in signed if s.review is not None and s.review.finding == ReviewFinding.OPEN
        ),
    }


@evidence_for("K3")
def audit_reviews_done(organization: Organization) -> Evidence:
    facts = _review_facts(organization)
    overdue, signed, open_findings = (
        int(facts["reviews_overdue"]),
        int(facts["reviews_signed"]),
        int(facts["open_findings"]),
    )
    link = (_reviews_link(organization),)
    if facts["periods_due"] == 0:
        return Evidence(
            Status.PARTIAL, "No review period has ended yet; the first review is upcoming.",
            facts, link,
        )  # fmt: skip
    summary = f"{signed} reviews signed, {overdue} overdue"
    if open_findings:
        summary += f", {open_findings} with follow-up still open"
    if overdue == 0 and open_findings == 0:
        return Evidence(Status.MET, summary + ".", facts, link)
    if signed:
        return Evidence(Status.PARTIAL, summary + ".", facts, link)
    return Evidence(Status.NOT_MET, summary + ".", facts, link)


@evidence_for("R3")
def review_schedule_kept(organization: Organization) -> Evidence:
    """Audit-trail reviews on a defined schedule; access-rights reviews arrive with the
    workforce module and are not measured yet, so this item cannot be fully met."""
    facts = _review_facts(organization)
    defined, overdue = bool(facts["schedule_defined"]), int(facts["reviews_overdue"])
    link = (_reviews_link(organization),)
    parts = [
        "audit review cadence " + ("defined" if defined else "not chosen (monthly by default)"),
        f"{overdue} audit reviews overdue",
        "access-rights reviews not measured yet",
    ]
    status = Status.PARTIAL if defined or overdue == 0 else Status.NOT_MET
    return Evidence(status, "; ".join(parts) + ".", facts, link)


@evidence_for("A4")
def audit_logs_kept(organization: Organization) -> Evidence:
    retention_days = int(settings.AUDIT_RETENTION_DAYS)
    retention_ok = retention_days >= SIX_YEARS_DAYS
    last_run = (
        VerificationRun.objects.filter(log_id=log_id_for(organization.pk))
        .order_by("-ran_at")
        .first()
    )
    fresh = last_run is not None and last_run.ran_at >= timezone.now() - timedelta(
        days=VERIFICATION_FRESH_DAYS
    )
    review = _review_facts(organization)
    facts: dict[str, int | float | str | bool] = {
        "retention_days": retention_days,
        "last_verified": last_run.ran_at.isoformat() if last_run else "",
        "last_verification_ok": bool(last_run and last_run.ok),
        "reviews_overdue": review["reviews_overdue"],
    }
    parts = [f"retention {retention_days} days" + ("" if retention_ok else " (below six years)")]
    if last_run is None:
        parts.append("the log has never been verified (run audit_verify)")
    elif not last_run.ok:
        parts.append(f"the last verification FAILED on {last_run.ran_at:%Y-%m-%d}")
    else:
        parts.append(
            f"verified intact on {last_run.ran_at:%Y-%m-%d}"
            + ("" if fresh else f" (more than {VERIFICATION_FRESH_DAYS} days ago)")
        )
    parts.append(f"{review['reviews_overdue']} reviews overdue")
    link = (_reviews_link(organization),)
    if last_run is not None and not last_run.ok:
        return Evidence(Status.NOT_MET, "; ".join(parts) + ".", facts, link)
    if retention_ok and fresh and review["reviews_overdue"] == 0:
        return Evidence(Status.MET, "; ".join(parts) + ".", facts, link)
    return Evidence(Status.PARTIAL, "; ".join(parts) + ".", facts, link)
