"""Audit trail API: search (keyset-paginated), tree heads, inclusion and consistency proofs."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status

from phiwarden.accounts.api_auth import token_require
from phiwarden.accounts.roles import Capability
from phiwarden.audit import reviews, selectors
from phiwarden.audit.models import AuditEvent, TreeHead
from phiwarden.audit.records import patient_ids_by_event
from phiwarden.audit.schemas import (
    AuditEventOut,
    AuditPageOut,
    ConsistencyProofOut,
    InclusionProofOut,
    MemberActivityOut,
    ReviewPeriodOut,
    ReviewSignIn,
    ReviewSummaryOut,
    TreeHeadOut,
)

router = Router(tags=["audit"])


class SearchParams(Schema):
    """AuditFilters plus paging; the field names must match AuditFilters (tested)."""

    actor_id: int | None = None
    patient_id: int | None = None
    client_id: int | None = None
    event_code: str = ""
    purpose: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


def event_out(event: AuditEvent, patient_ids: list[int] | None) -> AuditEventOut:
    return AuditEventOut(
        id=event.pk, occurred_at=event.occurred_at, actor_id=event.actor_id,
        actor_label=event.actor_label, event_code=event.event_code, outcome=event.outcome,
        target_type=event.target_type, target_id=event.target_id, purpose=event.purpose,
        request_id=event.request_id, ip_address=event.ip_address, via=event.via,
        data=event.data, fields_disclosed=event.fields_disclosed, patient_ids=patient_ids,
    )  # fmt: skip


@router.get("/audit/events", response=AuditPageOut)
def audit_events(request: HttpRequest, params: Query[SearchParams]) -> AuditPageOut:
    token = token_require(request, Capability.AUDIT_VIEW)
    membership = token.membership
    filters = selectors.AuditFilters(**params.dict(exclude={"cursor", "limit"}))
    page = selectors.audit_events_search(
        membership=membership, filters=filters, cursor=params.cursor, limit=params.limit,
        api_token_prefix=token.prefix,
    )  # fmt: skip
    show_patients = selectors.patient_ids_visible(membership)
    patients = patient_ids_by_event(e.pk for e in page.events) if show_patients else {}
    return AuditPageOut(
        events=[
            event_out(e, sorted(patients[e.pk]) if show_patients else None) for e in page.events
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/audit/tree-heads", response=list[TreeHeadOut])
def tree_heads(request: HttpRequest) -> list[TreeHeadOut]:
    token = token_require(request, Capability.AUDIT_VIEW)
    heads = TreeHead.objects.filter(log_id=token.organization_id).order_by("-tree_size")[:100]
    return [TreeHeadOut(**head.as_json()) for head in heads]


@router.get("/audit/events/{event_id}/inclusion-proof", response=InclusionProofOut)
def inclusion_proof(
    request: HttpRequest, event_id: int, tree_size: int | None = None
) -> InclusionProofOut:
    token = token_require(request, Capability.AUDIT_VIEW)
    proof = selectors.inclusion_proof_for_user(
        membership=token.membership, event_id=event_id, tree_size=tree_size
    )
    return InclusionProofOut(**proof.__dict__)


@router.get("/audit/consistency-proof", response=ConsistencyProofOut)
def consistency_proof(request: HttpRequest, old_size: int, new_size: int) -> ConsistencyProofOut:
    token = token_require(request, Capability.AUDIT_VIEW)
    proof = selectors.consistency_proof_for_user(
        membership=token.membership, old_size=old_size, new_size=new_size
    )
    return ConsistencyProofOut(**proof.__dict__)


@router.get("/audit/reviews", response=list[ReviewPeriodOut])
def review_periods(request: HttpRequest) -> list[ReviewPeriodOut]:
    token = token_require(request, Capability.AUDIT_VIEW)
    today = timezone.localdate()
    out = []
    for status in reviews.review_periods_for_user(membership=token.membership):
        review = status.review
        state = "signed" if review else ("overdue" if status.overdue(today) else "due")
        out.append(
            ReviewPeriodOut(
                period=status.period.key,
                start=status.period.start,
                end=status.period.end,
                due_on=status.period.due_on,
                status=state,
                reviewer=review.reviewer_label if review else None,
                signed_at=review.signed_at if review else None,
                finding=review.finding if review else None,
            )
        )
    return out


@router.get("/audit/reviews/{period}/summary", response=ReviewSummaryOut)
def review_summary(request: HttpRequest, period: str) -> ReviewSummaryOut:
    token = token_require(request, Capability.AUDIT_VIEW)
    membership = token.membership
    summary = reviews.review_summary(membership=membership, period=reviews.period_from_key(period))
    show_patients = selectors.patient_ids_visible(membership)
    return ReviewSummaryOut(
        period=summary.period.key, events=summary.events, logins=summary.logins,
        login_failures=summary.login_failures, exports=summary.exports, denied=summary.denied,
        after_hours=summary.after_hours, unsealed=summary.unsealed,
        members=[
            MemberActivityOut(
                actor_id=m.actor_id, label=m.label, events=m.events,
                patient_reads=m.patient_reads, denied=m.denied, after_hours=m.after_hours,
                exports=m.exports,
                top_patients=[list(p) for p in m.top_patients] if show_patients else None,
            )
            for m in summary.members
        ],
    )  # fmt: skip


@router.post("/audit/reviews/{period}/sign", response={201: ReviewPeriodOut})
def review_sign(request: HttpRequest, period: str, body: ReviewSignIn) -> Status[ReviewPeriodOut]:
    token = token_require(request, Capability.AUDIT_REVIEW)
    review_period = reviews.period_from_key(period)
    review = reviews.audit_review_sign(
        actor=token.membership, period=review_period, finding=body.finding, notes=body.notes
    )
    signed = ReviewPeriodOut(
        period=review_period.key, start=review.period_start, end=review.period_end,
        due_on=review_period.due_on, status="signed", reviewer=review.reviewer_label,
        signed_at=review.signed_at, finding=review.finding,
    )  # fmt: skip
    return Status(201, signed)
