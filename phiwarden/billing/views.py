"""Billing pages: work queues, claim detail, unmatched payments, patient look-up, import,
exports. Thin: every PHI value comes from billing.selectors (the PHI door)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from phiwarden.accounts.http import OrgRequest, org_view, reauthentication_required
from phiwarden.accounts.roles import Capability
from phiwarden.billing import exports, selectors, services
from phiwarden.billing.export_limits import APPROVAL_WINDOW_HOURS, row_limit_for
from phiwarden.billing.forms import (
    ExportDecisionForm,
    ExportDownloadForm,
    ExportForm,
    ImportForm,
    LookupForm,
    PurposeForm,
    QueueForm,
    RestrictionForm,
    RestrictionLiftForm,
)
from phiwarden.billing.imports import ImportRefused, x12_import


@org_view(Capability.BILLING_VIEW_PHI)
@require_GET
def claim_queue(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    form = QueueForm(request.GET or None, membership=membership)
    page = None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        after = request.GET.get("after")
        try:
            page = selectors.claim_queue(
                membership=membership,
                purpose=form.chosen_purpose(),
                status=data.get("status") or None,
                after=int(after) if after and after.isdigit() else None,
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
    next_query = None
    if page and page.next_after:
        query = request.GET.copy()
        query["after"] = str(page.next_after)
        next_query = query.urlencode()
    return render(
        request,
        "billing/claim_queue.html",
        {
            "form": form,
            "page": page,
            "next_query": next_query,
            "can_export": membership.can(Capability.BILLING_EXPORT),
            "export_form": ExportForm(membership=membership, initial=request.GET.dict()),
        },
    )


@org_view(Capability.BILLING_VIEW_PHI)
@require_GET
def claim_detail(request: OrgRequest, claim_id: int) -> HttpResponse:
    membership = request.membership
    form = PurposeForm(request.GET or None, membership=membership)
    detail = selectors.claim_detail(
        membership=membership, claim_id=claim_id, purpose=form.chosen_purpose()
    )
    return render(
        request,
        "billing/claim_detail.html",
        {
            "form": form,
            "detail": detail,
            "can_restrict": membership.can(Capability.BILLING_RECORD_RESTRICTIONS),
            "can_send_to_plan": membership.can(Capability.BILLING_WORK_CLAIMS),
            "restriction_form": RestrictionForm(),
            "lift_form": RestrictionLiftForm(),
            "has_restricted_lines": any(line.get("restricted_from_plan") for line in detail.lines),
        },
    )


@org_view(Capability.BILLING_POST_PAYMENTS)
@require_GET
def unmatched_payments(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    form = PurposeForm(request.GET or None, membership=membership)
    rows = selectors.unmatched_payments(membership=membership, purpose=form.chosen_purpose())
    return render(request, "billing/unmatched.html", {"form": form, "rows": rows})


@org_view(Capability.BILLING_VIEW_PHI)
@require_http_methods(["GET", "POST"])
def patient_lookup(request: OrgRequest) -> HttpResponse:
    """POST only for the search itself: identifiers never travel in a URL."""
    membership = request.membership
    form = LookupForm(request.POST or None, membership=membership)
    matches = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            matches = selectors.patient_lookup(
                membership=membership,
                purpose=form.chosen_purpose(),
                kind=data["kind"],
                value=data.get("value") or "",
                last_name=data.get("last_name") or "",
                first_name=data.get("first_name") or "",
                birth_date=data.get("birth_date"),
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
    return render(
        request,
        "billing/patient_lookup.html",
        {"form": form, "matches": matches},
    )


@org_view(Capability.BILLING_IMPORT)
@require_http_methods(["GET", "POST"])
def x12_upload(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    form = ImportForm(request.POST or None, request.FILES or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = x12_import(
                actor=membership,
                client=form.cleaned_data["client"],
                stream=upload,
                filename=upload.name or "upload.x12",
            )
        except ImportRefused as error:
            form.add_error("file", f"Not imported, nothing was stored: {' '.join(error.messages)}")
        else:
            if result.duplicate:
                messages.info(request, "This file was imported before; nothing new was created.")
            else:
                messages.success(
                    request,
                    f"Imported {result.claims} claims and {result.payments} payments "
                    f"({result.unmatched_payments} payments matched no claim).",
                )
            return redirect("billing:claim-queue", org_slug=membership.organization.slug)
    return render(
        request,
        "billing/upload.html",
        {"form": form, "max_mb": exports.upload_limit_mb()},
        status=422 if form.errors else 200,
    )


@org_view(Capability.BILLING_EXPORT)
@reauthentication_required
@require_POST
def queue_export(request: OrgRequest) -> HttpResponseBase:
    """Within the member's row limit the file comes at once; above it, the export becomes a
    request for a privacy officer's approval (two people)."""
    membership = request.membership
    slug = membership.organization.slug
    form = ExportForm(request.POST, membership=membership)
    if not form.is_valid():
        messages.error(request, "Say who the export is for and why, then try again.")
        return redirect("billing:claim-queue", org_slug=slug)
    data = form.cleaned_data
    client = data.get("client")
    purpose, status = form.chosen_purpose(), data.get("status") or None
    client_id = client.pk if client else None
    limit = row_limit_for(membership)
    try:
        size = selectors.claim_queue_size(membership=membership, status=status, client_id=client_id)
        if size > limit:
            services.export_request_create(
                actor=membership,
                purpose=purpose,
                status=status,
                client_id=client_id,
                file_format=data["format"],
                recipient=data["recipient"],
                reason=data["reason"],
            )
            messages.info(
                request,
                f"This export holds more than your limit of {limit} rows, so it needs a "
                "privacy officer's approval. It is listed below; you can download it once "
                f"within {APPROVAL_WINDOW_HOURS} hours of the approval.",
            )
            return redirect("billing:export-request-mine", org_slug=slug)
        return exports.queue_export_response(
            membership=membership,
            purpose=purpose,
            status=status,
            client_id=client_id,
            file_format=data["format"],
            recipient=data["recipient"],
            reason=data["reason"],
            row_limit=limit,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("billing:claim-queue", org_slug=slug)


# --- Export requests: two people ------------------------------------------------------


@org_view(Capability.BILLING_APPROVE_EXPORTS)
@require_GET
def export_request_list(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    return render(
        request,
        "billing/export_requests.html",
        {
            "requests": selectors.export_requests_to_decide(membership=membership),
            "now": timezone.now(),
            "decision_form": ExportDecisionForm(),
        },
    )


@org_view(Capability.BILLING_APPROVE_EXPORTS)
@reauthentication_required
@require_POST
def export_request_decide(request: OrgRequest) -> HttpResponseBase:
    membership = request.membership
    form = ExportDecisionForm(request.POST)
    back = redirect("billing:export-request-list", org_slug=membership.organization.slug)
    if not form.is_valid():
        messages.error(request, "Choose approve or deny and give your reason.")
        return back
    approve = form.cleaned_data["decision"] == "approve"
    try:
        decided = services.export_request_decide(
            actor=membership,
            request_id=form.cleaned_data["request_id"],
            approve=approve,
            reason=form.cleaned_data["reason"],
        )
    except (ValidationError, PermissionDenied) as error:
        text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        messages.error(request, text)
        return back
    messages.success(
        request, f"Export request #{decided.pk} {'approved' if approve else 'denied'}."
    )
    return back


@org_view(Capability.BILLING_EXPORT)
@require_GET
def export_request_mine(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    return render(
        request,
        "billing/export_requests_mine.html",
        {
            "requests": selectors.export_requests_mine(membership=membership),
            "now": timezone.now(),
            "row_limit": row_limit_for(membership),
        },
    )


@org_view(Capability.BILLING_EXPORT)
@reauthentication_required
@require_POST
def export_request_download(request: OrgRequest) -> HttpResponseBase:
    membership = request.membership
    form = ExportDownloadForm(request.POST)
    back = redirect("billing:export-request-mine", org_slug=membership.organization.slug)
    if not form.is_valid():
        messages.error(request, "Choose an export to download.")
        return back
    try:
        file = services.export_request_download(
            actor=membership, request_id=form.cleaned_data["request_id"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return back
    return file.response()


# --- Self-pay restrictions and the claim for the plan ---------------------------------


@org_view(Capability.BILLING_RECORD_RESTRICTIONS)
@require_POST
def claim_restrict(request: OrgRequest, claim_id: int) -> HttpResponseBase:
    membership = request.membership
    back = redirect(
        "billing:claim-detail", org_slug=membership.organization.slug, claim_id=claim_id
    )
    form = RestrictionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            "Choose the lines and confirm that the patient paid them in full out of pocket.",
        )
        return back
    try:
        result = services.restriction_record(
            actor=membership,
            claim_id=claim_id,
            line_numbers=form.cleaned_data["line_numbers"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return back
    recorded = ", ".join(str(n) for n in result.recorded)
    messages.success(
        request,
        f"Restricted from the health plan: line {recorded}. Claim data for the plan now "
        "leaves it out.",
    )
    return back


@org_view(Capability.BILLING_RECORD_RESTRICTIONS)
@require_POST
def claim_restriction_lift(request: OrgRequest, claim_id: int) -> HttpResponseBase:
    membership = request.membership
    back = redirect(
        "billing:claim-detail", org_slug=membership.organization.slug, claim_id=claim_id
    )
    form = RestrictionLiftForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the restricted lines and how the patient asked.")
        return back
    try:
        released = services.restriction_lift(
            actor=membership,
            claim_id=claim_id,
            line_numbers=form.cleaned_data["line_numbers"],
            basis=form.cleaned_data["basis"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return back
    lines = ", ".join(str(n) for n in released)
    messages.success(
        request, f"Restriction ended for line {lines}: claim data for the plan includes it again."
    )
    return back


@org_view(Capability.BILLING_WORK_CLAIMS)
@reauthentication_required
@require_POST
def claim_plan_837(request: OrgRequest, claim_id: int) -> HttpResponseBase:
    membership = request.membership
    try:
        plan = selectors.claim_x12_for_plan(membership=membership, claim_id=claim_id)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(
            "billing:claim-detail", org_slug=membership.organization.slug, claim_id=claim_id
        )
    response = HttpResponse(plan.content, content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{plan.filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- Remittances ----------------------------------------------------------------------


@org_view(Capability.BILLING_POST_PAYMENTS)
@require_GET
def remittance_list(request: OrgRequest) -> HttpResponse:
    after = request.GET.get("after", "")
    page = selectors.remittance_list(
        membership=request.membership, after=int(after) if after.isdigit() else None
    )
    return render(request, "billing/remittance_list.html", {"page": page})


@org_view(Capability.BILLING_VIEW_PHI)
@require_GET
def remittance_detail(request: OrgRequest, remittance_id: int) -> HttpResponse:
    membership = request.membership
    form = PurposeForm(request.GET or None, membership=membership)
    detail = selectors.remittance_detail(
        membership=membership, remittance_id=remittance_id, purpose=form.chosen_purpose()
    )
    return render(
        request,
        "billing/remittance_detail.html",
        {"form": form, "detail": detail},
    )
