"""HTML pages for incidents (thin: forms → services, reads through the selectors).

Any member may report an incident and follow the ones they reported; everything else
needs incidents.manage. Objects named in the URL are looked up inside the member's
organization (404 otherwise); a member without the capability gets 403, audited. Nothing
that identifies a person travels in a URL: members, notices and files go in POST bodies.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from phiwarden.accounts.http import OrgRequest, org_view, reauthentication_required
from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.core.forms import errors_to_form
from phiwarden.incidents import documents, selectors, services
from phiwarden.incidents.forms import (
    ActionForm,
    AssessmentForm,
    BreachLogExportForm,
    CloseForm,
    EvidenceForm,
    FactsForm,
    NoticeAckForm,
    NoticeSentForm,
    ReportForm,
    ScopeForm,
    StepForm,
    VerifyForm,
    member_choices,
    parse_year,
)
from phiwarden.incidents.models import (
    Assessment,
    ContainmentStep,
    CorrectiveAction,
    Incident,
    Notice,
)
from phiwarden.incidents.services.closeout import close_blockers
from phiwarden.incidents.submissions import Submission, new_submission

REPORT, MANAGE = Capability.INCIDENTS_REPORT, Capability.INCIDENTS_MANAGE
NOTICE_FILE_KINDS = ("letter", "patients", "individual_draft")
M = TypeVar("M", bound=Model)


# --- Helpers ----------------------------------------------------------------------------


def _url(request: OrgRequest, name: str, **kwargs: Any) -> str:
    slug = request.membership.organization.slug
    return reverse(f"incidents:{name}", kwargs={"org_slug": slug, **kwargs})


def _detail_url(request: OrgRequest, incident: Incident, anchor: str = "") -> str:
    url = _url(request, "detail", incident_id=incident.pk)
    return f"{url}#{anchor}" if anchor else url


def _incident_seen_by(membership: Membership, incident_id: int) -> Incident:
    """Officers see every incident; a reporter only their own. Another member's incident
    is refused as a missing capability (403, audited) whether or not it exists."""
    if membership.can(MANAGE):
        return selectors.incident_manage_get(membership, incident_id)
    incident = selectors.incidents_visible(membership).filter(pk=incident_id).first()
    if incident is None:
        capability_require(membership, MANAGE)
        raise PermissionDenied
    return incident


def _managed(request: OrgRequest, incident_id: int) -> Incident:
    return selectors.incident_manage_get(request.membership, incident_id)


def _child(request: OrgRequest, model: type[M], pk: int) -> M:
    """A step, assessment, notice or action of an incident of this organization."""
    capability_require(request.membership, MANAGE)
    found = (
        model.objects.for_organization(request.membership.organization)  # type: ignore[attr-defined]
        .filter(pk=pk)
        .select_related("incident")
        .first()
    )
    if found is None:
        raise Http404
    return found  # type: ignore[no-any-return]


def _file(document: documents.DocumentOut) -> HttpResponse:
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _error_message(request: OrgRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


# --- List and report --------------------------------------------------------------------


@org_view(REPORT)
@require_GET
def incident_list(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    incidents = selectors.incidents_visible(membership).order_by("-discovered_on", "-number")
    return render(
        request,
        "incidents/list.html",
        {"incidents": incidents, "can_manage": membership.can(MANAGE)},
    )


def _submission(request: OrgRequest) -> Submission:
    """The form's one-time token (`new_submission` puts it in the page)."""
    return Submission("submission", request.user.pk, str(request.POST.get("submission", "")))


@org_view(REPORT)
@require_http_methods(["GET", "POST"])
def incident_report(request: OrgRequest) -> HttpResponseBase:
    membership = request.membership
    organization = membership.organization
    form = ReportForm(
        request.POST or None,
        organization=organization,
        initial={"discovered_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        submission = _submission(request)
        earlier = submission.repeated()
        if earlier is not None:
            return redirect(earlier or _url(request, "list"))
        try:
            incident = services.incident_report(actor=membership, data=form.data_object())
        except ValidationError as error:
            submission.failed()
            errors_to_form(form, error)
        else:
            messages.success(
                request,
                f"Incident {incident.reference} reported. The privacy and security officers "
                "are being told now.",
            )
            return redirect(submission.done(_url(request, "detail", incident_id=incident.pk)))
    return render(request, "incidents/report.html", {"form": form, "submission": new_submission()})


# --- The incident page ------------------------------------------------------------------


def _deadline_rows(incident: Incident) -> list[dict[str, Any]]:
    today = timezone.localdate()
    return [
        {
            "client": row.client,
            "deadline": row.deadline,
            "notice": row.notice,
            "days_left": (row.deadline.due_on - today).days,
        }
        for row in selectors.client_deadlines(incident)
    ]


def _detail_context(request: OrgRequest, incident: Incident, **forms: Any) -> dict[str, Any]:
    organization = request.membership.organization
    steps = list(
        incident.steps.select_related("done_by", "target_membership__user", "target_vendor")
    )
    assessments = list(incident.assessments.select_related("signed_by").order_by("-version"))
    notices = list(incident.notices.select_related("client", "sent_by").order_by("due_on", "pk"))
    actions = list(incident.actions.select_related("verified_by").order_by("due_on", "pk"))
    owners = dict(member_choices(organization))
    return {
        "incident": incident,
        "can_manage": True,
        "steps": steps,
        "step_form": StepForm(organization=organization),
        "snapshots": list(incident.snapshots.select_related("taken_by")),
        "scopings": list(incident.scopings.all()[:5]),
        "assessments": assessments,
        "latest_assessment": assessments[0] if assessments else None,
        "deadlines": _deadline_rows(incident),
        "notices": notices,
        "actions": [(a, owners.get(a.owner_id, "")) for a in actions],
        "action_form": forms.get("action_form") or ActionForm(organization=organization),
        "verify_form": VerifyForm(),
        "close_form": (
            forms.get("close_form") or CloseForm(initial={"root_cause": incident.root_cause})
        ),
        "blockers": close_blockers(incident),
        "timeline": selectors.timeline(incident),
        "submission": new_submission(),
    }


def _detail_page(request: OrgRequest, incident: Incident, **forms: Any) -> HttpResponse:
    context = _detail_context(request, incident, **forms)
    context["description"] = services.incident_description(
        actor=request.membership, incident=incident
    )
    return render(request, "incidents/detail.html", context)


@org_view(REPORT)
@require_GET
def incident_detail(request: OrgRequest, incident_id: int) -> HttpResponse:
    membership = request.membership
    incident = _incident_seen_by(membership, incident_id)
    if membership.can(MANAGE):
        return _detail_page(request, incident)
    # The reporter: their own report, its status and whether officers were told.
    description = services.incident_description(actor=membership, incident=incident)
    return render(
        request,
        "incidents/detail_reporter.html",
        {"incident": incident, "description": description},
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def incident_edit(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    incident = _managed(request, incident_id)
    organization = request.membership.organization
    form = FactsForm(
        request.POST or None, organization=organization, initial=FactsForm.initial_for(incident)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.incident_update(
                actor=request.membership, incident=incident, facts=form.data_object()
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, "Facts saved.")
            return redirect(_detail_url(request, incident))
    return render(
        request,
        "incidents/form_page.html",
        {
            "form": form,
            "incident": incident,
            "page_title": f"Facts of {incident.reference}",
            "submit_label": "Save the facts",
        },
    )


# --- Containment and evidence -----------------------------------------------------------


@org_view(MANAGE)
@require_POST
def step_record(request: OrgRequest, step_id: int) -> HttpResponseBase:
    step = _child(request, ContainmentStep, step_id)
    membership = request.membership
    form = StepForm(request.POST, organization=membership.organization)
    back = redirect(_detail_url(request, step.incident, "containment"))
    if not form.is_valid():
        messages.error(request, "Choose a member or vendor from the list.")
        return back
    data = form.cleaned_data
    try:
        if step.action and step.done_at is None:
            target = None
            if data["membership"] is not None:
                target = (
                    Membership.objects.filter(
                        organization=membership.organization, pk=data["membership"]
                    )
                    .select_related("user", "organization")
                    .first()
                )
            vendor = None
            if data["vendor"] is not None:
                from phiwarden.partners.models import Vendor

                vendor = (
                    Vendor.objects.for_organization(membership.organization)
                    .filter(pk=data["vendor"])
                    .first()
                )
            services.containment_action_run(
                actor=membership, step=step, membership=target, vendor=vendor, note=data["note"]
            )
        else:
            services.containment_step_done(actor=membership, step=step, note=data["note"])
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, f"Done: {step.title}.")
    return back


def _scope_page(request: OrgRequest, incident: Incident, **forms: Any) -> HttpResponse:
    organization = request.membership.organization
    return render(
        request,
        "incidents/scope.html",
        {
            "incident": incident,
            "scope_form": forms.get("scope_form") or ScopeForm(organization=organization),
            "evidence_form": forms.get("evidence_form") or EvidenceForm(organization=organization),
            "scopings": list(incident.scopings.select_related("computed_by")),
            "snapshots": list(incident.snapshots.select_related("taken_by")),
            "submission": new_submission(),
            "evidence_submission": new_submission(),
        },
    )


@org_view(MANAGE)
@require_POST
def evidence_take(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    incident = _managed(request, incident_id)
    form = EvidenceForm(request.POST, organization=request.membership.organization)
    if form.is_valid():
        submission = _submission(request)
        if submission.repeated() is not None:
            return redirect(_url(request, "scope", incident_id=incident.pk) + "#evidence")
        try:
            snapshot = services.evidence_snapshot_take(
                actor=request.membership, incident=incident, query=form.query()
            )
        except ValidationError as error:
            submission.failed()
            errors_to_form(form, error)
        else:
            submission.done("")
            messages.success(
                request,
                f"Evidence sealed: {snapshot.event_count} events under tree size "
                f"{snapshot.tree_size}.",
            )
            return redirect(_url(request, "scope", incident_id=incident.pk) + "#evidence")
    return _scope_page(request, incident, evidence_form=form)


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def scope(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    incident = _managed(request, incident_id)
    if request.method == "GET":
        return _scope_page(request, incident)
    form = ScopeForm(request.POST, organization=request.membership.organization)
    if form.is_valid():
        submission = _submission(request)
        if submission.repeated() is not None:
            return redirect(_url(request, "scope", incident_id=incident.pk))
        try:
            run = services.scoping_run(
                actor=request.membership, incident=incident, query=form.query()
            )
        except ValidationError as error:
            submission.failed()
            errors_to_form(form, error)
        else:
            submission.done("")
            messages.success(
                request,
                f"Scoped: {run.individuals} individuals across {len(run.by_client)} clients "
                f"from {run.events} events.",
            )
            return redirect(_url(request, "scope", incident_id=incident.pk))
    return _scope_page(request, incident, scope_form=form)


# --- Assessment -------------------------------------------------------------------------


def _assessment_page(
    request: OrgRequest,
    assessment: Assessment,
    form: AssessmentForm | None = None,
    sign_errors: list[str] | None = None,
) -> HttpResponse:
    incident = assessment.incident
    scopings = list(incident.scopings.all())
    if form is None and not assessment.is_signed:
        form = AssessmentForm(initial=AssessmentForm.initial_for(assessment), scopings=scopings)
    versions = list(incident.assessments.select_related("signed_by").order_by("-version"))
    return render(
        request,
        "incidents/assessment.html",
        {
            "incident": incident,
            "assessment": assessment,
            "form": form,
            "versions": versions,
            "is_latest": versions[0].pk == assessment.pk,
            "sign_errors": sign_errors or [],
        },
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def assessment(request: OrgRequest, assessment_id: int) -> HttpResponseBase:
    version = _child(request, Assessment, assessment_id)
    if request.method == "GET":
        return _assessment_page(request, version)
    form = AssessmentForm(request.POST, scopings=list(version.incident.scopings.all()))
    if form.is_valid():
        try:
            services.assessment_save(
                actor=request.membership, assessment=version, data=form.data_object()
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, f"Assessment version {version.version} saved.")
            return redirect(_url(request, "assessment", assessment_id=version.pk))
    return _assessment_page(request, version, form)


@org_view(MANAGE)
@require_POST
def assessment_sign(request: OrgRequest, assessment_id: int) -> HttpResponseBase:
    version = _child(request, Assessment, assessment_id)
    try:
        signed = services.assessment_sign(actor=request.membership, assessment=version)
    except ValidationError as error:
        return _assessment_page(request, version, sign_errors=error.messages)
    messages.success(
        request,
        f"Version {signed.version} signed: {signed.get_decision_display()}. It is now locked.",
    )
    return redirect(_detail_url(request, signed.incident, "assessment"))


@org_view(MANAGE)
@require_POST
def assessment_new(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    """Open the assessment: the draft in progress, a first draft, or a new version after a
    signature (a copy of the signed one, which stays locked)."""
    incident = _managed(request, incident_id)
    try:
        draft = services.assessment_start(actor=request.membership, incident=incident)
    except ValidationError as error:
        _error_message(request, error)
        return redirect(_detail_url(request, incident, "assessment"))
    return redirect(_url(request, "assessment", assessment_id=draft.pk))


# --- Notices ----------------------------------------------------------------------------


@org_view(MANAGE)
@require_POST
def notice_generate(request: OrgRequest, notice_id: int) -> HttpResponseBase:
    notice = _child(request, Notice, notice_id)
    try:
        documents.notice_generate(actor=request.membership, notice=notice)
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, f"{notice} generated.")
    return redirect(_detail_url(request, notice.incident, "notices"))


def _notice_file(request: OrgRequest, notice_id: int, kind: str) -> HttpResponseBase:
    notice = _child(request, Notice, notice_id)
    try:
        document = documents.notice_file(actor=request.membership, notice=notice, kind=kind)
    except ValidationError as error:
        _error_message(request, error)
        return redirect(_detail_url(request, notice.incident, "notices"))
    return _file(document)


@reauthentication_required
def _notice_patients(request: OrgRequest, notice_id: int) -> HttpResponseBase:
    """The patient list is PHI: it leaves only after a recent re-authentication."""
    return _notice_file(request, notice_id, "patients")


@org_view(MANAGE)
@require_GET
def notice_download(request: OrgRequest, notice_id: int, kind: str) -> HttpResponseBase:
    if kind not in NOTICE_FILE_KINDS:
        raise Http404
    if kind == "patients":
        return _notice_patients(request, notice_id)
    return _notice_file(request, notice_id, kind)


def _notice_from(request: OrgRequest, incident: Incident, form_class: type[Any]) -> Any:
    return form_class(request.POST, notices=list(incident.notices.all()))


@org_view(MANAGE)
@require_POST
def notice_sent(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    incident = _managed(request, incident_id)
    form: NoticeSentForm = _notice_from(request, incident, NoticeSentForm)
    if not form.is_valid():
        messages.error(request, "Say how the notice was sent.")
        return redirect(_detail_url(request, incident, "notices"))
    notice = incident.notices.get(pk=form.cleaned_data["notice"])
    try:
        services.notice_mark_sent(
            actor=request.membership,
            notice=notice,
            method=form.cleaned_data["method"],
            sent_at=form.cleaned_data["sent_at"],
        )
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, f"{notice} recorded as sent.")
    return redirect(_detail_url(request, incident, "notices"))


@org_view(MANAGE)
@require_POST
def notice_ack(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    incident = _managed(request, incident_id)
    form: NoticeAckForm = _notice_from(request, incident, NoticeAckForm)
    if not form.is_valid():
        messages.error(request, "Choose the notice.")
        return redirect(_detail_url(request, incident, "notices"))
    notice = incident.notices.get(pk=form.cleaned_data["notice"])
    try:
        services.notice_acknowledge(
            actor=request.membership, notice=notice, note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, f"{notice}: acknowledgement recorded.")
    return redirect(_detail_url(request, incident, "notices"))


# --- Corrective actions and close-out ---------------------------------------------------


@org_view(MANAGE)
@require_POST
def action_add(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    incident = _managed(request, incident_id)
    form = ActionForm(request.POST, organization=request.membership.organization)
    if form.is_valid():
        submission = _submission(request)
        if submission.repeated() is not None:
            return redirect(_detail_url(request, incident, "actions"))
        try:
            services.corrective_action_add(
                actor=request.membership, incident=incident, data=form.data_object()
            )
        except ValidationError as error:
            submission.failed()
            errors_to_form(form, error)
        else:
            messages.success(request, "Corrective action added.")
            return redirect(submission.done(_detail_url(request, incident, "actions")))
    return _detail_page(request, incident, action_form=form)


@org_view(MANAGE)
@require_POST
def action_done(request: OrgRequest, action_id: int) -> HttpResponseBase:
    action = _child(request, CorrectiveAction, action_id)
    try:
        services.corrective_action_done(actor=request.membership, action=action)
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, "Corrective action marked done.")
    return redirect(_detail_url(request, action.incident, "actions"))


@org_view(MANAGE)
@require_POST
def action_verify(request: OrgRequest, action_id: int) -> HttpResponseBase:
    """An officer verifies the action worked; an action the owner has not marked done is
    marked done by the officer's verification (both are recorded)."""
    action = _child(request, CorrectiveAction, action_id)
    form = VerifyForm(request.POST)
    back = redirect(_detail_url(request, action.incident, "actions"))
    if not form.is_valid():
        messages.error(request, "Say how you verified it.")
        return back
    try:
        if action.done_at is None:
            services.corrective_action_done(actor=request.membership, action=action)
        services.corrective_action_verify(
            actor=request.membership,
            action=action,
            verification=form.cleaned_data["verification"],
        )
    except ValidationError as error:
        _error_message(request, error)
    else:
        messages.success(request, "Corrective action verified.")
    return back


@org_view(MANAGE)
@require_POST
def incident_close(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    incident = _managed(request, incident_id)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.incident_close(
                actor=request.membership,
                incident=incident,
                root_cause=form.cleaned_data["root_cause"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, f"{incident.reference} closed.")
            return redirect(_detail_url(request, incident))
    return _detail_page(request, incident, close_form=form)


@org_view(MANAGE)
@require_GET
def timeline_pdf(request: OrgRequest, incident_id: int) -> HttpResponseBase:
    incident = _managed(request, incident_id)
    return _file(documents.timeline_pdf(actor=request.membership, incident=incident))


# --- Breach log -------------------------------------------------------------------------


@org_view(MANAGE)
@require_GET
def breach_log(request: OrgRequest) -> HttpResponse:
    year = parse_year(request.GET.get("year"))
    rows = selectors.breach_log(request.membership, year)
    this_year = timezone.localdate().year
    return render(
        request,
        "incidents/breach_log.html",
        {
            "year": year,
            "rows": rows,
            "years": list(range(this_year, this_year - 7, -1)),
            "export_form": BreachLogExportForm(initial={"year": year, "fmt": "csv"}),
        },
    )


@org_view(MANAGE)
@require_POST
def breach_log_export(request: OrgRequest) -> HttpResponseBase:
    form = BreachLogExportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a year and a format.")
        return redirect(_url(request, "breach-log"))
    document = documents.breach_log_export(
        actor=request.membership, year=form.cleaned_data["year"], fmt=form.cleaned_data["fmt"]
    )
    return _file(document)
