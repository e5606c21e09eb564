"""The incidents API under /api/v1/incidents: the same selectors and services as the pages.

The token's capability is checked first (403): incidents.report to report an incident and
list one's own, incidents.manage for everything else. Then the objects named in the path
or the body must belong to the token's organization (404). What belongs to one incident
(a step, an assessment version, a notice, a corrective action) is named by its own id
under /incidents/steps/, /incidents/assessments/, /incidents/notices/ and
/incidents/actions/, as on the pages; the incident's own operations sit under
/incidents/{incident_id}/. Validation errors answer 422
with messages that name the API field, never the value sent. The reporter's narrative
leaves only through GET /incidents/{incident_id}/description, which is audited, and a
scoping's patient ids never leave at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router, Status

from phiwarden.accounts.api_auth import token_require
from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Capability
from phiwarden.incidents import documents, selectors, services
from phiwarden.incidents.models import (
    Assessment,
    ContainmentStep,
    CorrectiveAction,
    Incident,
    Notice,
)
from phiwarden.incidents.schemas import (
    AcknowledgeIn,
    ActionIn,
    ActionOut,
    AssessmentIn,
    AssessmentOut,
    AssessmentStateOut,
    BreachLogOut,
    ClientDeadlineOut,
    CloseIn,
    DescriptionOut,
    ErrorOut,
    EvidenceIn,
    IncidentDetailOut,
    IncidentIn,
    IncidentOut,
    IncidentPageOut,
    IncidentPatch,
    NoticeOut,
    ScopeIn,
    ScopingOut,
    SentIn,
    SnapshotOut,
    StepIn,
    StepOut,
    TimelineOut,
    VerifyIn,
)
from phiwarden.incidents.scoping import ScopeQuery
from phiwarden.incidents.services.closeout import close_blockers
from phiwarden.incidents.submissions import IN_FLIGHT, Submission, api_key_valid
from phiwarden.partners.models import Vendor

router = Router(tags=["incidents"])
REPORT, MANAGE = Capability.INCIDENTS_REPORT, Capability.INCIDENTS_MANAGE
PAGE_MAX = 100
M = TypeVar("M", bound=models.Model)
C = TypeVar("C", ContainmentStep, Assessment, Notice, CorrectiveAction)
NoticeFileKind = Literal["letter", "patients", "individual_draft"]

# --- Helpers -----------------------------------------------------------------------------


def _member(request: HttpRequest, capability: Capability) -> Membership:
    return token_require(request, capability).membership


def _managed(request: HttpRequest, incident_id: int) -> tuple[Membership, Incident]:
    """The token's member, if it may manage incidents (403), and one incident of its
    organization (404)."""
    membership = _member(request, MANAGE)
    return membership, selectors.incident_manage_get(membership, incident_id)


def _child(request: HttpRequest, model: type[C], pk: int) -> tuple[Membership, C]:
    """A step, assessment, notice or corrective action of an incident of the token's
    organization, by its own id (404 otherwise), for a member who may manage incidents."""
    membership = _member(request, MANAGE)
    queryset = model.objects.for_organization(membership.organization)
    return membership, _one(queryset.select_related("incident"), pk)


def _one(queryset: models.QuerySet[M], pk: int | None) -> M:
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise Http404
    return found


# The services name some fields as the pages do; the API's names end in _id.
API_FIELD_NAMES = {
    "vendor": "vendor_id",
    "clients": "client_ids",
    "membership": "membership_id",
    "scoping": "scoping_id",
    "owner": "owner_id",
}


def _labelled(error: ValidationError) -> list[str]:
    """Each message with the API field it is about ("discovered_on: ..."); messages about
    the whole request stay as they are. The services' messages never quote the input."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    return [
        message if field == "__all__" else f"{API_FIELD_NAMES.get(field, field)}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    ]


@contextmanager
def _field_errors() -> Iterator[None]:
    """Validation errors answer 422 (phiwarden.api) with field-labelled messages."""
    try:
        yield
    except ValidationError as error:
        raise ValidationError(_labelled(error)) from None


def _own_ids(membership: Membership, *, client_ids: list[int], vendor_id: int | None) -> None:
    """Clients and a vendor named in a body must be the organization's (404 otherwise, as
    for ids in a path)."""
    organization = membership.organization
    wanted = set(client_ids)
    found = Client.objects.for_organization(organization).filter(pk__in=wanted).count()
    if found != len(wanted):
        raise Http404
    if vendor_id is not None:
        _one(Vendor.objects.for_organization(organization), vendor_id)


def _refuse_nulls(patch: dict[str, Any], *, nullable: set[str]) -> None:
    """Null is refused where a value is required (422)."""
    refused = sorted(
        name for name, value in patch.items() if value is None and name not in nullable
    )
    if refused:
        raise ValidationError([f"{name}: may not be null." for name in refused])


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A window given without a UTC offset is read in the organization's time zone."""
    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment)


def _scope_query(payload: EvidenceIn) -> ScopeQuery:
    values = payload.dict()
    values["since"], values["until"] = _aware(payload.since), _aware(payload.until)
    return ScopeQuery(**values)


def _days_left(due_on: dt.date) -> int:
    return (due_on - timezone.localdate()).days


def _file_response(document: documents.DocumentOut) -> HttpResponse:
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _binary(content_type: str, description: str) -> dict[str, Any]:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


def _detail(incident: Incident) -> IncidentDetailOut:
    deadlines = [
        ClientDeadlineOut(
            client_id=row.client.pk,
            client_name=row.client.name,
            key=row.deadline.key,
            title=row.deadline.title,
            due_on=row.deadline.due_on,
            days_left=_days_left(row.deadline.due_on),
            citation=row.deadline.citation,
            delayed_from=row.deadline.delayed_from,
            notice_id=row.notice.pk if row.notice else None,
            notice_sent_at=row.notice.sent_at if row.notice else None,
        )
        for row in selectors.client_deadlines(incident)
    ]
    scoping = incident.scopings.order_by("-computed_at", "-pk").first()
    base = IncidentOut.from_orm(incident).dict()
    # The nested shapes read the rows' attributes (from_attributes), as the top level does.
    return IncidentDetailOut.model_validate(
        {
            **base,
            "steps": list(incident.steps.all()),
            "deadlines": deadlines,
            "earliest_due_on": min((d.due_on for d in deadlines), default=None),
            "scoping": scoping,
            "snapshots": list(incident.snapshots.all()),
            "assessments": list(incident.assessments.all()),
            "notices": list(incident.notices.all()),
            "actions": list(incident.actions.all()),
            "close_blockers": close_blockers(incident),
        }
    )


# --- Breach log (before /incidents/{incident_id}, whose id is an integer anyway) ---------


def _year(year: int | None) -> int:
    return year if year is not None else timezone.localdate().year


@router.get("/incidents/breach-log", response=BreachLogOut)
def breach_log(request: HttpRequest, year: int | None = None) -> BreachLogOut:
    """Breaches discovered in `year` (default: this year) whose decision in force is
    "breach": one row per affected covered entity, in the HHS breach portal's fields."""
    membership = _member(request, MANAGE)
    year = _year(year)
    # The rows are read by attribute (BreachLogRowOut's aliases reach into them).
    return BreachLogOut.model_validate(
        {"year": year, "rows": selectors.breach_log(membership, year)}
    )


def _breach_log_file(request: HttpRequest, year: int | None, fmt: str) -> HttpResponse:
    membership = _member(request, MANAGE)
    with _field_errors():
        document = documents.breach_log_export(actor=membership, year=_year(year), fmt=fmt)
    return _file_response(document)


@router.get(
    "/incidents/breach-log.csv",
    response={200: None},
    openapi_extra=_binary("text/csv", "The breach log as CSV"),
)
def breach_log_csv(request: HttpRequest, year: int | None = None) -> HttpResponse:
    return _breach_log_file(request, year, "csv")


@router.get(
    "/incidents/breach-log.xlsx",
    response={200: None},
    openapi_extra=_binary(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "The breach log as XLSX",
    ),
)
def breach_log_xlsx(request: HttpRequest, year: int | None = None) -> HttpResponse:
    return _breach_log_file(request, year, "xlsx")


# --- Incidents ---------------------------------------------------------------------------


@router.post("/incidents", response={201: IncidentOut, 409: ErrorOut})
def incident_report(request: HttpRequest, payload: IncidentIn) -> Status[Any]:
    """Report an incident (any member). The officers are told by e-mail after it commits.
    The answer leaves the description out: read it from /description (audited).

    Send an `Idempotency-Key` header (1-64 letters, digits and `._:-`, e.g. a UUID) to
    make a retry safe: the same key from the same member within an hour answers with the
    incident the first request reported (201, same body) instead of reporting it again,
    or 409 while the first is still being recorded."""
    membership = _member(request, REPORT)
    key = request.headers.get("Idempotency-Key", "")
    if key and not api_key_valid(key):
        raise ValidationError(
            "Idempotency-Key: use 1 to 64 letters, digits and . _ : - (a UUID fits)."
        )
    once = Submission("api-report", membership.user_id, key)
    earlier = once.repeated()
    if earlier == IN_FLIGHT:
        return Status(409, {"detail": "A request with this Idempotency-Key is still running."})
    if earlier is not None:
        return Status(201, _one(selectors.incidents_visible(membership), int(earlier)))
    try:
        _own_ids(membership, client_ids=payload.client_ids, vendor_id=payload.vendor_id)
        with _field_errors():
            incident = services.incident_report(
                actor=membership, data=services.ReportData(**payload.dict())
            )
    except BaseException:
        once.failed()  # nothing was reported: the same key may try again
        raise
    once.done(str(incident.pk))
    return Status(201, incident)


@router.get("/incidents", response=IncidentPageOut)
def incident_list(
    request: HttpRequest, after: int | None = None, limit: int = 50
) -> IncidentPageOut:
    """Newest first; officers see every incident, anyone else the ones they reported. Pass
    `next_after` back as `after` for the next page."""
    membership = _member(request, REPORT)
    limit = max(1, min(limit, PAGE_MAX))
    incidents = selectors.incidents_visible(membership).prefetch_related("clients")
    if after is not None:
        incidents = incidents.filter(pk__lt=after)
    page = list(incidents.order_by("-pk")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return IncidentPageOut.model_validate(
        {"rows": page, "next_after": page[-1].pk if more else None}
    )


@router.get("/incidents/{incident_id}", response=IncidentDetailOut)
def incident_detail(request: HttpRequest, incident_id: int) -> IncidentDetailOut:
    """Facts, status, containment steps, our notice deadline per client (with days left),
    the latest scoping's counts, every assessment version, the notices, the corrective
    actions and what still blocks closing."""
    _membership, incident = _managed(request, incident_id)
    return _detail(incident)


@router.get("/incidents/{incident_id}/description", response=DescriptionOut)
def incident_description(request: HttpRequest, incident_id: int) -> DescriptionOut:
    """The reporter's narrative, which may name patients: every read is audited."""
    membership, incident = _managed(request, incident_id)
    text = services.incident_description(actor=membership, incident=incident)
    return DescriptionOut(incident_id=incident.pk, description=text)


PATCH_NULLABLE = {
    "occurred_on",
    "ended_on",
    "delay_stated_on",
    "delay_until",
    "delay_written_received_on",
}


@router.patch("/incidents/{incident_id}", response=IncidentDetailOut)
def incident_update(
    request: HttpRequest, incident_id: int, payload: IncidentPatch
) -> IncidentDetailOut:
    """Correct the facts sent, including a law-enforcement delay (45 CFR 164.412), which
    moves the deadlines that fall inside it."""
    membership, incident = _managed(request, incident_id)
    fields = [f.name for f in dataclasses.fields(services.IncidentFacts)]
    current: dict[str, Any] = {
        name: getattr(incident, name) for name in fields if name != "client_ids"
    }
    current["client_ids"] = sorted(incident.clients.values_list("pk", flat=True))
    patch = payload.dict(exclude_unset=True)
    _refuse_nulls(patch, nullable=PATCH_NULLABLE)
    _own_ids(membership, client_ids=patch.get("client_ids") or [], vendor_id=None)
    with _field_errors():
        services.incident_update(
            actor=membership,
            incident=incident,
            facts=services.IncidentFacts(**{**current, **patch}),
        )
    return _detail(incident)


# --- Containment and evidence ------------------------------------------------------------


@router.post("/incidents/steps/{step_id}", response=StepOut)
def step_done(request: HttpRequest, step_id: int, payload: StepIn) -> ContainmentStep:
    """A step done by hand is recorded with the note; a one-click step takes its action on
    the member (`membership_id`) or vendor (`vendor_id`) named. Done once: a second
    submission answers the step as it is."""
    membership, step = _child(request, ContainmentStep, step_id)
    if step.done_at is not None:
        return step
    organization = membership.organization
    with _field_errors():
        if not step.action:
            if payload.membership_id is not None or payload.vendor_id is not None:
                raise ValidationError("This step is done by hand; send only a note.")
            return services.containment_step_done(actor=membership, step=step, note=payload.note)
        target = (
            _one(Membership.objects.for_organization(organization), payload.membership_id)
            if payload.membership_id is not None
            else None
        )
        vendor = (
            _one(Vendor.objects.for_organization(organization), payload.vendor_id)
            if payload.vendor_id is not None
            else None
        )
        return services.containment_action_run(
            actor=membership, step=step, membership=target, vendor=vendor, note=payload.note
        )


@router.post("/incidents/{incident_id}/evidence", response={201: SnapshotOut})
def evidence_snapshot(request: HttpRequest, incident_id: int, payload: EvidenceIn) -> Status[Any]:
    """Seal the audit log and record which events of the members or tokens in the window
    it holds, with a digest over their ids."""
    membership, incident = _managed(request, incident_id)
    with _field_errors():
        snapshot = services.evidence_snapshot_take(
            actor=membership, incident=incident, query=_scope_query(payload)
        )
    return Status(201, snapshot)


@router.post("/incidents/{incident_id}/scopings", response={201: ScopingOut})
def scoping_run(request: HttpRequest, incident_id: int, payload: ScopeIn) -> Status[Any]:
    """Who was exposed, from the audit trail (members or tokens in a window) or imported
    files: counts by client and by state and the PHI classes. Patient ids stay inside."""
    membership, incident = _managed(request, incident_id)
    with _field_errors():
        run = services.scoping_run(actor=membership, incident=incident, query=_scope_query(payload))
    return Status(201, run)


# --- Assessment --------------------------------------------------------------------------


def _assessment_state(incident: Incident) -> AssessmentStateOut:
    versions = list(incident.assessments.order_by("-version"))
    newest = versions[0] if versions else None
    in_force = next((a for a in versions if a.is_signed), None)
    return AssessmentStateOut.model_validate(
        {
            "in_force": in_force,
            "open": newest if newest and not newest.is_signed else None,
            "versions": versions,
        }
    )


@router.get("/incidents/{incident_id}/assessment", response=AssessmentStateOut)
def assessment_get(request: HttpRequest, incident_id: int) -> AssessmentStateOut:
    """The decision in force (newest signed version), the open draft if any, and every
    version, newest first."""
    _membership, incident = _managed(request, incident_id)
    return _assessment_state(incident)


@router.post("/incidents/{incident_id}/assessment", response=AssessmentOut)
def assessment_save(request: HttpRequest, incident_id: int, payload: AssessmentIn) -> Assessment:
    """Save the open version, starting it if there is none (a first draft prefilled from
    the latest scoping, or a copy of the last signed version)."""
    membership, incident = _managed(request, incident_id)
    if payload.scoping_id is not None:
        _one(incident.scopings.all(), payload.scoping_id)
    patch = payload.dict(exclude_unset=True)
    _refuse_nulls(patch, nullable={"scoping_id"})
    with _field_errors():
        draft = services.assessment_start(actor=membership, incident=incident)
        fields = [f.name for f in dataclasses.fields(services.AssessmentData)]
        current = {name: getattr(draft, name) for name in fields}
        return services.assessment_save(
            actor=membership,
            assessment=draft,
            data=services.AssessmentData(**{**current, **patch}),
        )


@router.post("/incidents/assessments/{assessment_id}/sign", response=AssessmentOut)
def assessment_sign(request: HttpRequest, assessment_id: int) -> Assessment:
    """Sign and lock this version (the one read, by its id); a breach decision plans the
    notices and their deadlines. Signing a signed version again changes nothing."""
    membership, assessment = _child(request, Assessment, assessment_id)
    with _field_errors():
        return services.assessment_sign(actor=membership, assessment=assessment)


@router.post(
    "/incidents/{incident_id}/assessment/versions",
    response={200: AssessmentOut, 201: AssessmentOut},
)
def assessment_version(request: HttpRequest, incident_id: int) -> Status[Assessment]:
    """Open a new version after signing (201): a copy of the signed one to change. If a
    version is open already, that one is answered (200)."""
    membership, incident = _managed(request, incident_id)
    before = incident.assessments.order_by("-version").values_list("pk", flat=True).first()
    with _field_errors():
        draft = services.assessment_start(actor=membership, incident=incident)
    return Status(200 if draft.pk == before else 201, draft)


# --- Notices -----------------------------------------------------------------------------


@router.post("/incidents/notices/{notice_id}/generate", response=NoticeOut)
def notice_generate(request: HttpRequest, notice_id: int) -> Notice:
    """Generate the notice's files (the letter; for a client, its list of patients),
    stored encrypted. An unsent notice may be generated again from the newest facts."""
    membership, notice = _child(request, Notice, notice_id)
    with _field_errors():
        return documents.notice_generate(actor=membership, notice=notice)


@router.get(
    "/incidents/notices/{notice_id}/files/{kind}",
    response={200: None},
    openapi_extra=_binary("application/pdf", "The letter or draft (PDF), or the patients (CSV)"),
)
def notice_file(request: HttpRequest, notice_id: int, kind: NoticeFileKind) -> HttpResponse:
    """One of the notice's files: `letter`, `patients` (the client's affected patients:
    PHI) or `individual_draft` (a draft of the client's letter to individuals,
    164.404(c)). Every download is audited."""
    membership, notice = _child(request, Notice, notice_id)
    with _field_errors():
        document = documents.notice_file(actor=membership, notice=notice, kind=kind)
    return _file_response(document)


@router.post("/incidents/notices/{notice_id}/sent", response=NoticeOut)
def notice_sent(request: HttpRequest, notice_id: int, payload: SentIn) -> Notice:
    """Record the notice as sent (now, or at `sent_at`); our notice to a client starts the
    client's own clocks. Recorded once: a second submission answers the notice as it is."""
    membership, notice = _child(request, Notice, notice_id)
    with _field_errors():
        return services.notice_mark_sent(
            actor=membership, notice=notice, method=payload.method, sent_at=payload.sent_at
        )


@router.post("/incidents/notices/{client_notice_id}/ack", response=NoticeOut)
def notice_ack(request: HttpRequest, client_notice_id: int, payload: AcknowledgeIn) -> Notice:
    """Record the client's acknowledgement of our notice to it (a notice to a client)."""
    membership, notice = _child(request, Notice, client_notice_id)
    if notice.recipient != Notice.Recipient.CLIENT:
        raise Http404
    with _field_errors():
        return services.notice_acknowledge(actor=membership, notice=notice, note=payload.note)


# --- Corrective actions and close-out ----------------------------------------------------


@router.post("/incidents/{incident_id}/actions", response={201: ActionOut})
def action_add(request: HttpRequest, incident_id: int, payload: ActionIn) -> Status[Any]:
    """A corrective action with an owner (a user id of an active member) and a due date."""
    membership, incident = _managed(request, incident_id)
    # The owner is a user of this organization (404 otherwise; an inactive one is a 422).
    members = Membership.objects.for_organization(membership.organization)
    if not members.filter(user_id=payload.owner_id).exists():
        raise Http404
    with _field_errors():
        action = services.corrective_action_add(
            actor=membership, incident=incident, data=services.ActionData(**payload.dict())
        )
    return Status(201, action)


@router.post("/incidents/actions/{action_id}/done", response=ActionOut)
def action_done(request: HttpRequest, action_id: int) -> CorrectiveAction:
    membership, action = _child(request, CorrectiveAction, action_id)
    with _field_errors():
        done: CorrectiveAction = services.corrective_action_done(actor=membership, action=action)
    return done


@router.post("/incidents/actions/{action_id}/verify", response=ActionOut)
def action_verify(request: HttpRequest, action_id: int, payload: VerifyIn) -> CorrectiveAction:
    """An officer verifies the action worked, and says how; an action not yet marked done
    is marked done by the verification (both are recorded), as on the page."""
    membership, action = _child(request, CorrectiveAction, action_id)
    with _field_errors():
        if action.done_at is None and payload.verification.strip():
            services.corrective_action_done(actor=membership, action=action)
        verified: CorrectiveAction = services.corrective_action_verify(
            actor=membership, action=action, verification=payload.verification
        )
    return verified


@router.post("/incidents/{incident_id}/close", response=IncidentDetailOut)
def incident_close(request: HttpRequest, incident_id: int, payload: CloseIn) -> IncidentDetailOut:
    """Close with the root cause once nothing blocks it (the 422 lists what does). Closing
    a closed incident again answers it as it is."""
    membership, incident = _managed(request, incident_id)
    if not incident.is_closed:
        with _field_errors():
            incident = services.incident_close(
                actor=membership, incident=incident, root_cause=payload.root_cause
            )
    return _detail(incident)


# --- Timeline ----------------------------------------------------------------------------


@router.get("/incidents/{incident_id}/timeline", response=TimelineOut)
def incident_timeline(request: HttpRequest, incident_id: int) -> TimelineOut:
    """Everything that happened to the incident, in order, from its own records."""
    _membership, incident = _managed(request, incident_id)
    return TimelineOut.model_validate(
        {
            "incident_id": incident.pk,
            "reference": incident.reference,
            "entries": selectors.timeline(incident),
        }
    )


@router.get(
    "/incidents/{incident_id}/timeline.pdf",
    response={200: None},
    openapi_extra=_binary("application/pdf", "The incident's timeline (PDF)"),
)
def incident_timeline_pdf(request: HttpRequest, incident_id: int) -> HttpResponse:
    membership, incident = _managed(request, incident_id)
    with _field_errors():
        document = documents.timeline_pdf(actor=membership, incident=incident)
    return _file_response(document)


__all__ = ["router"]
