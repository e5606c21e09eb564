"""The audit pages: search, CSV export, and the scheduled reviews with their sign-off."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from phiwarden.accounts.http import OrgRequest, org_view, reauthentication_required
from phiwarden.accounts.roles import Capability
from phiwarden.audit import reviews, selectors
from phiwarden.audit.codes import EventCode
from phiwarden.audit.forms import AuditFilterForm, ReviewCadenceForm, ReviewSignForm
from phiwarden.audit.records import patient_ids_by_event
from phiwarden.audit.services import audit_event_record
from phiwarden.core.exports import csv_lines
from phiwarden.core.forms import errors_to_form


@org_view(Capability.AUDIT_VIEW)
@require_GET
def event_list(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    form = AuditFilterForm(request.GET or None, membership=membership)
    page = None
    if not request.GET or form.is_valid():
        filters = form.filters() if request.GET else selectors.AuditFilters()
        cursor = request.GET.get("cursor") or None
        try:
            page = selectors.audit_events_search(
                membership=membership, filters=filters, cursor=cursor
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
    show_patients = selectors.patient_ids_visible(membership)
    patients = patient_ids_by_event(e.pk for e in page.events) if page and show_patients else {}
    rows = [(e, sorted(patients.get(e.pk, []))) for e in page.events] if page else []
    next_query = None
    if page and page.next_cursor:
        query = request.GET.copy()
        query["cursor"] = page.next_cursor
        next_query = query.urlencode()
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "rows": rows,
            "next_query": next_query,
            "show_patients": show_patients,
            "can_export": membership.can(Capability.AUDIT_EXPORT),
        },
    )


@org_view(Capability.AUDIT_EXPORT)
@reauthentication_required
@require_POST
def event_export(request: OrgRequest) -> HttpResponseBase:
    """CSV of the filtered events. The export is an audited event written before the first
    row leaves; patient ids are included only when asked for and only for officers."""
    membership = request.membership
    form = AuditFilterForm(request.POST, membership=membership)
    if not form.is_valid():
        messages.error(request, "The export filters are not valid; check them and try again.")
        return redirect("audit:event-list", org_slug=membership.organization.slug)
    with_patient_ids = request.POST.get("with_patient_ids") == "on" and membership.can(
        Capability.AUDIT_VIEW_PATIENT_IDS
    )
    filters = form.filters()
    try:
        with transaction.atomic():
            export = selectors.audit_events_export(
                membership=membership, filters=filters, with_patient_ids=with_patient_ids
            )
            audit_event_record(
                actor=membership.user,
                organization=membership.organization,
                event_code=EventCode.AUDIT_EXPORTED,
                data={
                    "format": "csv",
                    "rows": export.row_count,
                    "patient_ids": with_patient_ids,
                    "patient_filter": filters.patient_id is not None,
                },
            )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("audit:event-list", org_slug=membership.organization.slug)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        csv_lines(export.header, export.rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- Reviews --------------------------------------------------------------------------


@org_view(Capability.AUDIT_VIEW)
@require_GET
def review_list(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    schedule = reviews.schedule_for(membership.organization)
    today = timezone.localdate()
    statuses = reviews.review_periods_for_user(membership=membership)
    return render(
        request,
        "audit/review_list.html",
        {
            "schedule": schedule,
            "schedule_defined": schedule.pk is not None,
            "statuses": [(s, s.overdue(today)) for s in statuses],
            "current": reviews.period_containing(today, schedule.cadence),
            "cadence_form": ReviewCadenceForm(initial={"cadence": schedule.cadence}),
            "can_review": membership.can(Capability.AUDIT_REVIEW),
            "grace_days": reviews.REVIEW_GRACE_DAYS,
        },
    )


@org_view(Capability.AUDIT_REVIEW)
@reauthentication_required
@require_POST
def review_schedule(request: OrgRequest) -> HttpResponse:
    form = ReviewCadenceForm(request.POST)
    if form.is_valid():
        reviews.audit_review_schedule_set(
            actor=request.membership, cadence=form.cleaned_data["cadence"]
        )
        messages.success(request, "Review cadence saved.")
    else:
        messages.error(request, "Choose weekly or monthly.")
    return redirect("audit:review-list", org_slug=request.membership.organization.slug)


def _review_page(
    request: OrgRequest, period: reviews.ReviewPeriod, form: ReviewSignForm | None
) -> HttpResponse:
    membership = request.membership
    review = reviews.audit_review_get(membership=membership, period=period)
    summary = reviews.review_summary(membership=membership, period=period)
    complete = period.is_complete(timezone.localdate())
    can_sign = membership.can(Capability.AUDIT_REVIEW) and complete and review is None
    return render(
        request,
        "audit/review_detail.html",
        {
            "period": period,
            "review": review,
            "summary": summary,
            "complete": complete,
            "form": (form or ReviewSignForm()) if can_sign else None,
            "show_patients": selectors.patient_ids_visible(membership),
        },
        status=422 if form is not None and form.errors else 200,
    )


@org_view(Capability.AUDIT_VIEW)
@require_GET
def review_detail(request: OrgRequest, period: str) -> HttpResponse:
    return _review_page(request, reviews.period_from_key(period), None)


@org_view(Capability.AUDIT_REVIEW)
@reauthentication_required
@require_POST
def review_sign(request: OrgRequest, period: str) -> HttpResponse:
    review_period = reviews.period_from_key(period)
    form = ReviewSignForm(request.POST)
    if form.is_valid():
        try:
            reviews.audit_review_sign(
                actor=request.membership,
                period=review_period,
                finding=form.cleaned_data["finding"],
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, f"Review of {review_period.label} signed.")
            return redirect(
                "audit:review-detail",
                org_slug=request.membership.organization.slug,
                period=review_period.key,
            )
    return _review_page(request, review_period, form)
