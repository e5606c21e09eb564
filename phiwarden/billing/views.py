"""Billing pages: work queues, claim detail, unmatched payments, patient look-up, import,
exports. Thin: every PHI value comes from billing.selectors (the PHI door)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from phiwarden.accounts.http import OrgRequest, org_view, reauthentication_required
from phiwarden.accounts.roles import Capability
from phiwarden.billing import exports, selectors
from phiwarden.billing.forms import ExportForm, ImportForm, LookupForm, PurposeForm, QueueForm
from phiwarden.billing.imports import ImportRefused, x12_import
from phiwarden.billing.minimum_necessary import PhiField


def _field_labels() -> dict[str, str]:
    return {f.value: f.value.split(".", 1)[1].replace("_", " ") for f in PhiField}


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
            "labels": _field_labels(),
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
        {"form": form, "detail": detail, "labels": _field_labels()},
    )


@org_view(Capability.BILLING_POST_PAYMENTS)
@require_GET
def unmatched_payments(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    form = PurposeForm(request.GET or None, membership=membership)
    rows = selectors.unmatched_payments(membership=membership, purpose=form.chosen_purpose())
    return render(
        request, "billing/unmatched.html", {"form": form, "rows": rows, "labels": _field_labels()}
    )


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
        {"form": form, "matches": matches, "labels": _field_labels()},
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
    membership = request.membership
    form = ExportForm(request.POST, membership=membership)
    if not form.is_valid():
        messages.error(request, "Say who the export is for and why, then try again.")
        return redirect("billing:claim-queue", org_slug=membership.organization.slug)
    data = form.cleaned_data
    try:
        return exports.queue_export_response(
            membership=membership,
            purpose=form.chosen_purpose(),
            status=data.get("status") or None,
            file_format=data["format"],
            recipient=data["recipient"],
            reason=data["reason"],
            row_limit=int(getattr(settings, "BILLING_EXPORT_ROW_LIMIT", 500)),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("billing:claim-queue", org_slug=membership.organization.slug)
