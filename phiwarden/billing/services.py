"""Billing writes: export requests and their two-person decisions, self-pay restrictions.

Each function takes the acting membership, checks its capability, changes state with a
conditional update inside one transaction (so a double submit or two officers deciding at
once change nothing the second time) and records its audit event in that transaction.
Audit `data` holds identifiers and counts only; the recipient, reasons and notes that a
person types stay in the rows (the restriction note encrypted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.services import audit_event_record
from phiwarden.billing import exports, phi, selectors
from phiwarden.billing.export_limits import APPROVAL_WINDOW_HOURS, row_limit_for
from phiwarden.billing.models import (
    Claim,
    ClaimStatus,
    ExportRequest,
    LiftBasis,
    PlanRestriction,
    ServiceLine,
)
from phiwarden.vault.services import cipher_for

State = ExportRequest.State
FORMATS = ("csv", "xlsx")


class ExportRequestConflict(ValidationError):
    """The request is not in a state that allows this step (already decided, downloaded,
    expired): nothing changed."""


# --- Export requests (45 CFR 164.312(b), 164.502(b); two people) ---------------------------


def export_request_create(
    *,
    actor: Membership,
    purpose: str,
    status: str | None,
    client_id: int | None,
    file_format: str,
    recipient: str,
    reason: str,
) -> ExportRequest:
    """Ask a privacy officer to approve an export of a work queue."""
    capability_require(actor, Capability.BILLING_EXPORT)
    selectors.projection_for(actor, purpose)  # a purpose the role may read for, or refused
    if file_format not in FORMATS:
        raise ValidationError({"format": "Choose CSV or XLSX."})
    if status and status not in ClaimStatus.values:
        raise ValidationError({"status": "Unknown claim status."})
    if not recipient.strip() or not reason.strip():
        raise ValidationError("Say who the export is for and why.")
    client = None
    if client_id is not None:
        client = selectors.clients_reached(actor).filter(pk=client_id).first()
        if client is None:
            raise ValidationError({"client": "No such client among yours."})
    rows = selectors.claim_queue_size(membership=actor, status=status, client_id=client_id)
    if rows == 0:
        raise ValidationError("This queue holds no claims: there is nothing to export.")
    with transaction.atomic():
        request = ExportRequest.objects.create(
            organization=actor.organization,
            requester=actor.user,
            purpose=purpose,
            queue_status=status or "",
            client=client,
            file_format=file_format,
            recipient=recipient.strip()[:120],
            reason=reason.strip()[:200],
            rows_requested=rows,
        )
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.BILLING_EXPORT_REQUESTED,
            target=request,
            purpose=purpose,
            data={
                "rows": rows,
                "row_limit": row_limit_for(actor),
                "queue": status or "all",
                "client_id": client_id,
                "format": file_format,
            },
        )
    return request


def _request_in_organization(actor: Membership, request_id: int) -> ExportRequest:
    request = (
        ExportRequest.objects.for_organization(actor.organization)
        .select_related("requester", "approver", "client")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise Http404
    return request


_ALREADY = {
    State.APPROVED: "This request was already approved; nothing changed.",
    State.DENIED: "This request was already denied; nothing changed.",
    State.DOWNLOADED: "This export was already downloaded; nothing changed.",
    State.EXPIRED: "This request has expired; nothing changed.",
}


def export_request_decide(
    *, actor: Membership, request_id: int, approve: bool, reason: str
) -> ExportRequest:
    """Approve or deny a request: a privacy officer who is not the requester, with a
    reason. An approval opens a download window of APPROVAL_WINDOW_HOURS."""
    capability_require(actor, Capability.BILLING_APPROVE_EXPORTS)
    request = _request_in_organization(actor, request_id)
    if request.requester_id == actor.user_id:
        raise PermissionDenied(
            "You asked for this export; another privacy officer must decide it (two people)."
        )
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for your decision."})
    now = timezone.now()
    state = State.APPROVED if approve else State.DENIED
    with transaction.atomic():
        changed = ExportRequest.objects.filter(pk=request.pk, state=State.REQUESTED).update(
            state=state,
            approver=actor.user,
            decision_reason=reason.strip()[:200],
            decided_at=now,
            expires_at=now + timedelta(hours=APPROVAL_WINDOW_HOURS) if approve else None,
            updated_at=now,
        )
        if not changed:
            request.refresh_from_db(fields=["state"])
            raise ExportRequestConflict(_ALREADY.get(State(request.state), "Nothing changed."))
        request.refresh_from_db()
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.BILLING_EXPORT_APPROVED
            if approve
            else EventCode.BILLING_EXPORT_DENIED,
            target=request,
            purpose=request.purpose,
            data={
                "rows": request.rows_requested,
                "requester_id": request.requester_id,
                "queue": request.queue_status or "all",
            },
        )
    return request


def _refuse_not_requester(actor: Membership, request: ExportRequest) -> None:
    """Only the requester downloads: anyone else's try is recorded and answered 404."""
    audit_event_record(
        actor=actor.user,
        organization=actor.organization,
        event_code=EventCode.ACCESS_DENIED,
        outcome=Outcome.DENIED,
        target=request,
        data={"capability": "billing.export_request.requester"},
    )
    raise Http404


def export_request_download(*, actor: Membership, request_id: int) -> exports.ExportFile:
    """The approved export, once, by its requester, inside the window. The rows are read
    through the PHI door now (projected for the requester's role and the request's purpose;
    audited with the patient ids and fields), at most the approved number of rows."""
    capability_require(actor, Capability.BILLING_EXPORT)
    request = _request_in_organization(actor, request_id)
    if request.requester_id != actor.user_id:
        _refuse_not_requester(actor, request)
    now = timezone.now()
    if request.is_expired(now):
        ExportRequest.objects.filter(pk=request.pk, state=State.APPROVED).update(
            state=State.EXPIRED, updated_at=now
        )
        raise ExportRequestConflict(
            "The approval window has passed; this export has expired. Ask again if you "
            "still need it."
        )
    if request.state == State.REQUESTED:
        raise ExportRequestConflict("This request is waiting for a privacy officer's decision.")
    with transaction.atomic():
        changed = ExportRequest.objects.filter(
            pk=request.pk, state=State.APPROVED, expires_at__gt=now
        ).update(state=State.DOWNLOADED, downloaded_at=now, updated_at=now)
        if not changed:
            request.refresh_from_db(fields=["state"])
            raise ExportRequestConflict(_ALREADY.get(State(request.state), "Nothing changed."))
        return exports.queue_file(
            membership=actor,
            purpose=request.purpose,
            status=request.queue_status or None,
            client_id=request.client_id,
            file_format=request.file_format,
            recipient=request.recipient,
            reason=request.reason,
            rows=request.rows_requested,
            request=request,
        )


def export_requests_expire(*, now: dt.datetime | None = None) -> int:
    """Close every approved export whose download window has passed, so no approval stays
    usable and the officers' list shows what lapsed. Each one is audited. Idempotent: run
    by `billing_expire_exports` from cron (a download attempt after the window also
    expires its request)."""
    now = now or timezone.now()
    lapsed = ExportRequest.objects.filter(state=State.APPROVED, expires_at__lte=now)
    expired = 0
    for request in lapsed.select_related("organization").order_by("pk"):
        with transaction.atomic():
            changed = ExportRequest.objects.filter(
                pk=request.pk, state=State.APPROVED, expires_at__lte=now
            ).update(state=State.EXPIRED, updated_at=now)
            if changed:
                audit_event_record(
                    actor=None,
                    organization=request.organization,
                    event_code=EventCode.BILLING_EXPORT_EXPIRED,
                    target=request,
                    data={"rows": request.rows_requested},
                )
                expired += 1
    return expired


# --- Self-pay restrictions (45 CFR 164.522(a)(1)(vi)) --------------------------------------


@dataclass
class RestrictionResult:
    claim_id: int
    recorded: list[int]  # line numbers restricted now
    already: list[int]  # line numbers that were restricted before


def _restrictable_claim(actor: Membership, claim_id: int) -> Claim:
    """The claim, if it belongs to a client the member reaches (404 otherwise)."""
    claim = (
        Claim.objects.for_organization(actor.organization)
        .filter(client__in=selectors.clients_reached(actor), pk=claim_id)
        .first()
    )
    if claim is None:
        raise Http404
    return claim


def _wanted_lines(line_numbers: Sequence[int], empty_message: str) -> list[int]:
    wanted = sorted(set(line_numbers))
    if not wanted:
        raise ValidationError({"line_numbers": empty_message})
    return wanted


def _lines_locked(claim: Claim, wanted: list[int]) -> list[ServiceLine]:
    """The claim's lines with these numbers, locked for the transaction; all must exist."""
    lines = list(
        ServiceLine.objects.select_for_update()
        .filter(claim=claim, number__in=wanted)
        .order_by("number")
    )
    if len(lines) != len(wanted):
        raise ValidationError({"line_numbers": "This claim has no such service line."})
    return lines


def restriction_record(
    *, actor: Membership, claim_id: int, line_numbers: Sequence[int], note: str
) -> RestrictionResult:
    """Record that the patient paid these services in full out of pocket and asked that
    their health plan not be told: the lines are left out of outgoing claim data for the
    plan (billing.reemit). Who and when are kept; the note is encrypted."""
    capability_require(actor, Capability.BILLING_RECORD_RESTRICTIONS)
    claim = _restrictable_claim(actor, claim_id)
    wanted = _wanted_lines(line_numbers, "Choose the service lines the patient paid for.")
    with transaction.atomic():
        lines = _lines_locked(claim, wanted)
        already = [line.number for line in lines if line.restricted_from_plan]
        new = [line for line in lines if not line.restricted_from_plan]
        if not new:
            raise ValidationError(
                {"line_numbers": "These lines are already restricted; nothing changed."}
            )
        now = timezone.now()
        cipher = cipher_for(actor.organization)
        ended = {r.line_id: r for r in PlanRestriction.objects.filter(line__in=new)}
        for line in new:
            # A restriction that was lifted and is asked for again reuses its row (one per
            # line); the audit trail keeps both the lifting and the new request.
            restriction = ended.get(line.pk) or PlanRestriction(
                organization=actor.organization, line=line
            )
            restriction.recorded_by, restriction.recorded_at = actor.user, now
            restriction.lifted_at, restriction.lifted_by, restriction.lift_basis = None, None, ""
            restriction.note_ct = phi.seal(cipher, restriction, "note_ct", note.strip())
            restriction.save()
        ServiceLine.objects.filter(pk__in=[line.pk for line in new]).update(
            restricted_from_plan=True
        )
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.BILLING_RESTRICTION_RECORDED,
            target=claim,
            patient_ids=[claim.patient_id],
            data={
                "client_id": claim.client_id,
                "lines": [line.number for line in new],
                "already": already,
            },
        )
    return RestrictionResult(claim.pk, [line.number for line in new], already)


def restriction_lift(
    *, actor: Membership, claim_id: int, line_numbers: Sequence[int], basis: str
) -> list[int]:
    """End self-pay restrictions at the patient's request: claim data for the plan includes
    the lines again. Only the patient can end a (vi) restriction, in writing or by an
    oral agreement that is documented (45 CFR 164.522(a)(2)(i)-(iii))."""
    capability_require(actor, Capability.BILLING_RECORD_RESTRICTIONS)
    if basis not in LiftBasis.values:
        raise ValidationError(
            {"basis": "Say how the patient asked to end it: in writing, or orally (documented)."}
        )
    claim = _restrictable_claim(actor, claim_id)
    wanted = _wanted_lines(line_numbers, "Choose the restricted lines to release.")
    with transaction.atomic():
        lines = _lines_locked(claim, wanted)
        if any(not line.restricted_from_plan for line in lines):
            raise ValidationError({"line_numbers": "Only restricted lines can be released."})
        now = timezone.now()
        PlanRestriction.objects.filter(line__in=lines).update(
            lifted_at=now, lifted_by=actor.user, lift_basis=basis
        )
        ServiceLine.objects.filter(pk__in=[line.pk for line in lines]).update(
            restricted_from_plan=False
        )
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.BILLING_RESTRICTION_LIFTED,
            target=claim,
            patient_ids=[claim.patient_id],
            data={"client_id": claim.client_id, "lines": wanted, "basis": basis},
        )
    return wanted
