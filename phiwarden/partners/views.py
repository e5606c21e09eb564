"""HTML pages for clients, vendors, BAAs, the flow map and imports (thin: forms → services)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from phiwarden.accounts.http import OrgRequest, org_view, reauthentication_required
from phiwarden.accounts.roles import Capability
from phiwarden.core.forms import errors_to_form
from phiwarden.partners import diligence, exports, selectors, services
from phiwarden.partners.checks import BaaCheck, PartnerIndex, flows_checked
from phiwarden.partners.flowmap import flow_map_svg
from phiwarden.partners.forms import (
    AttestationForm,
    BaaDocumentForm,
    BaaForm,
    BaaTerminateForm,
    ChannelsForm,
    ClientProfileForm,
    DiligenceForm,
    FlowForm,
    FlowReviewForm,
    ImportForm,
    VendorForm,
    VendorStatusForm,
)
from phiwarden.partners.models import ApprovedChannel, Baa, ClientProfile, Flow, Stage
from phiwarden.partners.services.parties import client_profile_get_or_new
from phiwarden.vault.blobs import blob_read

VIEW, MANAGE = Capability.PARTNERS_VIEW, Capability.PARTNERS_MANAGE
_T = TypeVar("_T")


def _url(request: OrgRequest, name: str, **kwargs: Any) -> str:
    slug = request.membership.organization.slug
    return reverse(f"partners:{name}", kwargs={"org_slug": slug, **kwargs})


def _submitted(
    request: OrgRequest,
    form: Form,
    save: Callable[[], _T],
    then: Callable[[_T], tuple[str, str]],
) -> HttpResponse | None:
    """The POST of a valid form: run `save` (a service call); on success flash the message
    and redirect to the address `then(result)` gives. A service's ValidationError goes back
    onto the form, and None tells the view to show the form page again."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        result = save()
    except ValidationError as error:
        errors_to_form(form, error)
        return None
    message, next_url = then(result)
    messages.success(request, message)
    return redirect(next_url)


def _form_page(request: OrgRequest, form: Form, title: str, **extra: Any) -> HttpResponse:
    return render(request, "partners/form_page.html", {"form": form, "page_title": title, **extra})


def _today() -> Any:
    return timezone.localdate()


# --- Overview ---------------------------------------------------------------------------


@org_view(VIEW)
@require_GET
def overview(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    today = _today()
    index = PartnerIndex.load(membership.organization, today)
    clients = list(selectors.clients_list_for_partners(membership=membership))
    vendors = list(selectors.vendors_list_for_user(membership=membership))
    checked = flows_checked(membership.organization, today)
    return render(
        request,
        "partners/overview.html",
        {
            "clients": [(c, index.client_check(c)) for c in clients],
            "vendors": [(v, index.vendor_check(v), index.vendor_diligence(v)) for v in vendors],
            "flagged": [c for c in checked if c.flags],
            "flow_count": len(checked),
            "can_manage": membership.can(MANAGE),
        },
    )


# --- Clients ----------------------------------------------------------------------------


@org_view(VIEW)
@require_GET
def client_list(request: OrgRequest) -> HttpResponse:
    index = PartnerIndex.load(request.membership.organization, _today())
    clients = selectors.clients_list_for_partners(membership=request.membership)
    profiles = selectors.client_profiles_by_client(membership=request.membership)
    return render(
        request,
        "partners/client_list.html",
        {
            "rows": [
                (c, profiles.get(c.pk) or ClientProfile(client=c), index.client_check(c))
                for c in clients
            ],
            "can_manage": request.membership.can(MANAGE),
        },
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def client_edit(request: OrgRequest, client_id: int) -> HttpResponse:
    client = selectors.client_get_for_partners(membership=request.membership, client_id=client_id)
    profile = client_profile_get_or_new(client)
    initial = {
        name: getattr(profile, name)
        for name in ClientProfileForm.base_fields
        if name != "states_served"
    }
    initial["states_served"] = " ".join(profile.states_served)
    form = ClientProfileForm(request.POST or None, initial=initial)
    done = _submitted(
        request,
        form,
        lambda: services.client_profile_update(
            actor=request.membership, client=client, data=form.data_object()
        ),
        lambda _result: ("Client profile saved.", _url(request, "client-list")),
    )
    if done is not None:
        return done
    return _form_page(
        request,
        form,
        f"Compliance profile: {client.name}",
        back_url=_url(request, "client-list"),
        back_label="Clients",
        intro="Breach notices under the BAA go to the client's privacy officer (45 CFR 164.410).",
    )


# --- Vendors ----------------------------------------------------------------------------


@org_view(VIEW)
@require_GET
def vendor_list(request: OrgRequest) -> HttpResponse:
    index = PartnerIndex.load(request.membership.organization, _today())
    vendors = selectors.vendors_list_for_user(membership=request.membership)
    return render(
        request,
        "partners/vendor_list.html",
        {
            "rows": [(v, index.vendor_check(v), index.vendor_diligence(v)) for v in vendors],
            "can_manage": request.membership.can(MANAGE),
        },
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def vendor_create(request: OrgRequest) -> HttpResponse:
    form = VendorForm(request.POST or None)
    done = _submitted(
        request,
        form,
        lambda: services.vendor_create(actor=request.membership, data=form.data_object()),
        lambda vendor: (
            "Vendor added. Record its due diligence before PHI flows.",
            _url(request, "vendor-detail", vendor_id=vendor.pk),
        ),
    )
    if done is not None:
        return done
    return _form_page(
        request, form, "Add a vendor", back_url=_url(request, "vendor-list"), back_label="Vendors"
    )


@org_view(VIEW)
@require_GET
def vendor_detail(request: OrgRequest, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get_for_user(membership=request.membership, vendor_id=vendor_id)
    index = PartnerIndex.load(request.membership.organization, _today())
    reviews = list(vendor.reviews.select_related("reviewer"))
    questions = {q.code: q for q in diligence.QUESTIONS}
    return render(
        request,
        "partners/vendor_detail.html",
        {
            "vendor": vendor,
            "check": index.vendor_check(vendor),
            "current_review": index.vendor_diligence(vendor),
            "reviews": reviews,
            "latest_answers": (
                [(questions[c], diligence.Answer(a)) for c, a in reviews[0].answers.items()]
                if reviews
                else []
            ),
            "attestations": vendor.attestations.all(),
            "baas": vendor.baas.all(),
            "status_form": VendorStatusForm(initial={"status": vendor.status}),
            "today": index.today,
            "can_manage": request.membership.can(MANAGE),
        },
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def vendor_edit(request: OrgRequest, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get_for_user(membership=request.membership, vendor_id=vendor_id)
    initial = {name: getattr(vendor, name) for name in VendorForm.base_fields}
    form = VendorForm(request.POST or None, initial=initial)
    done = _submitted(
        request,
        form,
        lambda: services.vendor_update(
            actor=request.membership, vendor=vendor, data=form.data_object()
        ),
        lambda _result: ("Vendor saved.", _url(request, "vendor-detail", vendor_id=vendor.pk)),
    )
    if done is not None:
        return done
    back = _url(request, "vendor-detail", vendor_id=vendor.pk)
    return _form_page(request, form, f"Edit {vendor.name}", back_url=back, back_label=vendor.name)


@org_view(MANAGE)
@require_POST
def vendor_status(request: OrgRequest, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get_for_user(membership=request.membership, vendor_id=vendor_id)
    form = VendorStatusForm(request.POST)
    if form.is_valid():
        try:
            services.vendor_set_status(
                actor=request.membership, vendor=vendor, status=form.cleaned_data["status"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{vendor.name}: {vendor.get_status_display()}.")
    return redirect(_url(request, "vendor-detail", vendor_id=vendor.pk))


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def diligence_create(request: OrgRequest, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get_for_user(membership=request.membership, vendor_id=vendor_id)
    form = DiligenceForm(request.POST or None, initial={"decided_on": _today()})
    done = _submitted(
        request,
        form,
        lambda: services.diligence_record(
            actor=request.membership,
            vendor=vendor,
            answers=form.answers(),
            decision=form.cleaned_data["decision"],
            decided_on=form.cleaned_data["decided_on"],
            notes=form.cleaned_data["notes"],
        ),
        lambda review: (
            f"Due diligence recorded: score {review.score}.",
            _url(request, "vendor-detail", vendor_id=vendor.pk),
        ),
    )
    if done is not None:
        return done
    back = _url(request, "vendor-detail", vendor_id=vendor.pk)
    return _form_page(
        request,
        form,
        f"Due diligence: {vendor.name}",
        back_url=back,
        back_label=vendor.name,
        intro=(
            "Satisfactory assurances before PHI is shared (45 CFR 164.308(b)(1), 164.314(a)). "
            f"A required safeguard answered 'No' blocks approval; below "
            f"{diligence.PASSING_SCORE} approval must carry conditions."
        ),
        submit_label="Record the review",
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def attestation_create(request: OrgRequest, vendor_id: int) -> HttpResponse:
    vendor = selectors.vendor_get_for_user(membership=request.membership, vendor_id=vendor_id)
    form = AttestationForm(request.POST or None, request.FILES or None)
    done = _submitted(
        request,
        form,
        lambda: services.attestation_record(
            actor=request.membership,
            vendor=vendor,
            kind=form.cleaned_data["kind"],
            title=form.cleaned_data["title"],
            issued_on=form.cleaned_data["issued_on"],
            expires_on=form.cleaned_data["expires_on"],
            document=form.cleaned_data.get("document"),
        ),
        lambda _result: (
            "Attestation recorded.",
            _url(request, "vendor-detail", vendor_id=vendor.pk),
        ),
    )
    if done is not None:
        return done
    back = _url(request, "vendor-detail", vendor_id=vendor.pk)
    return _form_page(
        request, form, f"Attestation: {vendor.name}", back_url=back, back_label=vendor.name
    )


# --- BAAs -------------------------------------------------------------------------------


@org_view(VIEW)
@require_GET
def baa_list(request: OrgRequest) -> HttpResponse:
    today = _today()
    baas = selectors.baas_list_for_user(membership=request.membership)
    index = PartnerIndex.load(request.membership.organization, today)
    rows: list[tuple[Baa, BaaCheck | None]] = []
    for baa in baas:
        check = None
        if baa.direction == Baa.Direction.CLIENT and baa.client is not None:
            check = index.client_check(baa.client)
        elif baa.direction == Baa.Direction.VENDOR and baa.vendor is not None:
            check = index.vendor_check(baa.vendor)
        rows.append((baa, check))
    return render(
        request,
        "partners/baa_list.html",
        {"rows": rows, "today": today, "can_manage": request.membership.can(MANAGE)},
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def baa_create(request: OrgRequest) -> HttpResponse:
    form = BaaForm(request.POST or None, actor=request.membership)
    done = _submitted(
        request,
        form,
        lambda: services.baa_create(
            actor=request.membership,
            terms=form.terms(),
            client=form.cleaned_data["client"],
            vendor=form.cleaned_data["vendor"],
            subcontractor_name=form.cleaned_data["subcontractor_name"],
        ),
        lambda baa: ("BAA recorded.", _url(request, "baa-detail", baa_id=baa.pk)),
    )
    if done is not None:
        return done
    return _form_page(
        request,
        form,
        "Record a BAA",
        back_url=_url(request, "baa-list"),
        back_label="BAAs",
        intro=(
            "Name one client (its BAA with us), or one vendor (our BAA with it), or a vendor "
            "and its subcontractor (45 CFR 164.502(e), 164.504(e), 164.314(a))."
        ),
    )


@org_view(VIEW)
@require_GET
def baa_detail(request: OrgRequest, baa_id: int) -> HttpResponse:
    baa = selectors.baa_get_for_user(membership=request.membership, baa_id=baa_id)
    today = _today()
    return render(
        request,
        "partners/baa_detail.html",
        {
            "baa": baa,
            "today": today,
            "current": baa.is_current(today),
            "ends_on": baa.current_expiry(today),
            "warning_days": baa.warning_days(today),
            "example_deadline": baa.notice_window.breach_deadline(today),
            "flows": baa.flows.exclude(status=Flow.Status.RETIRED),
            "documents": selectors.baa_documents_for_user(membership=request.membership, baa=baa),
            "can_manage": request.membership.can(MANAGE),
        },
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def baa_edit(request: OrgRequest, baa_id: int) -> HttpResponse:
    baa = selectors.baa_get_for_user(membership=request.membership, baa_id=baa_id)
    initial = {name: getattr(baa, name) for name in services.BaaTerms.__dataclass_fields__}
    form = BaaForm(
        request.POST or None, actor=request.membership, with_parties=False, initial=initial
    )
    done = _submitted(
        request,
        form,
        lambda: services.baa_update(actor=request.membership, baa=baa, terms=form.terms()),
        lambda _result: ("BAA saved.", _url(request, "baa-detail", baa_id=baa.pk)),
    )
    if done is not None:
        return done
    back = _url(request, "baa-detail", baa_id=baa.pk)
    return _form_page(request, form, f"Edit {baa}", back_url=back, back_label=str(baa))


@org_view(MANAGE)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def baa_terminate(request: OrgRequest, baa_id: int) -> HttpResponse:
    baa = selectors.baa_get_for_user(membership=request.membership, baa_id=baa_id)
    form = BaaTerminateForm(
        request.POST or None, request.FILES or None, initial={"terminated_on": _today()}
    )
    done = _submitted(
        request,
        form,
        lambda: services.baa_terminate(actor=request.membership, baa=baa, **form.cleaned_data),
        lambda _result: (
            "BAA terminated; the disposition of PHI is recorded.",
            _url(request, "baa-detail", baa_id=baa.pk),
        ),
    )
    if done is not None:
        return done
    back = _url(request, "baa-detail", baa_id=baa.pk)
    return _form_page(
        request,
        form,
        f"Terminate {baa}",
        back_url=back,
        back_label=str(baa),
        intro=(
            "At termination the PHI is returned or destroyed, or, where infeasible, its "
            "protections extended (45 CFR 164.504(e)(2)(ii)(J))."
        ),
        submit_label="Terminate the BAA",
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def baa_document_upload(request: OrgRequest, baa_id: int) -> HttpResponse:
    baa = selectors.baa_get_for_user(membership=request.membership, baa_id=baa_id)
    form = BaaDocumentForm(request.POST or None, request.FILES or None)
    done = _submitted(
        request,
        form,
        lambda: services.baa_document_upload(
            actor=request.membership, baa=baa, upload=form.cleaned_data["document"]
        ),
        lambda document: (
            f"Signed document stored, version {document.version}.",
            _url(request, "baa-detail", baa_id=baa.pk),
        ),
    )
    if done is not None:
        return done
    back = _url(request, "baa-detail", baa_id=baa.pk)
    return _form_page(
        request,
        form,
        f"Upload the signed document: {baa}",
        back_url=back,
        back_label=str(baa),
        submit_label="Upload",
    )


@org_view(VIEW)
@require_GET
def document_download(request: OrgRequest, blob_id: int) -> StreamingHttpResponse:
    blob = selectors.partner_document_get_for_user(membership=request.membership, blob_id=blob_id)
    services.document_download_record(actor=request.membership, blob=blob)
    response = StreamingHttpResponse(blob_read(blob), content_type=blob.content_type)
    response["Content-Disposition"] = f'attachment; filename="partner-document-{blob.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    response["Content-Length"] = str(blob.size)
    return response


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@org_view(VIEW)
@require_GET
def baa_register_csv(request: OrgRequest) -> HttpResponse:
    rows = exports.register_rows(request.membership, _today())
    exports.export_record(
        actor=request.membership, what="baa_register", file_format="csv", rows=len(rows)
    )
    return _download(exports.register_csv(rows), "text/csv; charset=utf-8", "baa-register.csv")


@org_view(VIEW)
@require_GET
def baa_register_xlsx(request: OrgRequest) -> HttpResponse:
    rows = exports.register_rows(request.membership, _today())
    exports.export_record(
        actor=request.membership, what="baa_register", file_format="xlsx", rows=len(rows)
    )
    return _download(
        exports.register_xlsx(rows),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "baa-register.xlsx",
    )


# --- The flow map -----------------------------------------------------------------------


@org_view(VIEW)
@require_GET
def flow_map(request: OrgRequest) -> HttpResponse:
    organization = request.membership.organization
    checked = flows_checked(organization, _today())
    svg = flow_map_svg(checked, organization_name=organization.name)
    return render(
        request,
        "partners/flow_map.html",
        {
            # Built with ElementTree, which escapes every name it writes.
            "svg": mark_safe(svg),  # noqa: S308
            "checked": checked,
            "stages": Stage,
            "approved": ApprovedChannel.objects.for_organization(organization),
            "last_review": selectors.flow_map_reviews_for_user(
                membership=request.membership
            ).first(),
            "can_manage": request.membership.can(MANAGE),
        },
    )


@org_view(VIEW)
@require_GET
def flow_map_pdf(request: OrgRequest) -> HttpResponse:
    today = _today()
    checked = flows_checked(request.membership.organization, today)
    pdf = exports.flow_map_pdf(request.membership, checked, today)
    exports.export_record(
        actor=request.membership, what="flow_map", file_format="pdf", rows=len(checked)
    )
    return _download(pdf, "application/pdf", "phi-flow-map.pdf")


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def flow_create(request: OrgRequest) -> HttpResponse:
    form = FlowForm(request.POST or None, actor=request.membership)
    done = _submitted(
        request,
        form,
        lambda: services.flow_create(actor=request.membership, data=form.data_object()),
        lambda _result: ("Flow added to the map.", _url(request, "flow-map")),
    )
    if done is not None:
        return done
    return _form_page(
        request,
        form,
        "Map a PHI flow",
        back_url=_url(request, "flow-map"),
        back_label="Flow map",
        intro="Give each end as one internal system, one client or one vendor.",
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def flow_edit(request: OrgRequest, flow_id: int) -> HttpResponse:
    flow = selectors.flow_get_for_user(membership=request.membership, flow_id=flow_id)
    initial = {name: getattr(flow, name) for name in FlowForm.base_fields}
    form = FlowForm(request.POST or None, actor=request.membership, initial=initial)
    done = _submitted(
        request,
        form,
        lambda: services.flow_update(actor=request.membership, flow=flow, data=form.data_object()),
        lambda _result: ("Flow saved.", _url(request, "flow-map")),
    )
    if done is not None:
        return done
    return _form_page(
        request,
        form,
        f"Edit flow: {flow.name}",
        back_url=_url(request, "flow-map"),
        back_label="Flow map",
    )


@org_view(MANAGE)
@require_POST
def flow_confirm(request: OrgRequest, flow_id: int) -> HttpResponse:
    flow = selectors.flow_get_for_user(membership=request.membership, flow_id=flow_id)
    try:
        services.flow_confirm(actor=request.membership, flow=flow)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Flow confirmed.")
    return redirect(_url(request, "flow-map"))


@org_view(MANAGE)
@require_POST
def flow_retire(request: OrgRequest, flow_id: int) -> HttpResponse:
    flow = selectors.flow_get_for_user(membership=request.membership, flow_id=flow_id)
    try:
        services.flow_retire(actor=request.membership, flow=flow)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Flow retired.")
    return redirect(_url(request, "flow-map"))


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def channel_settings(request: OrgRequest) -> HttpResponse:
    current = ApprovedChannel.objects.for_organization(request.membership.organization)
    form = ChannelsForm(
        request.POST or None, initial={"channels": list(current.values_list("channel", flat=True))}
    )
    if request.method == "POST" and form.is_valid():
        services.channels_set(actor=request.membership, channels=form.cleaned_data["channels"])
        messages.success(request, "Approved channels saved.")
        return redirect(_url(request, "flow-map"))
    return _form_page(
        request,
        form,
        "Approved channels for PHI",
        back_url=_url(request, "flow-map"),
        back_label="Flow map",
        intro="A flow on any other channel is flagged on the map (45 CFR 164.312(e)(1)).",
    )


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def flow_review(request: OrgRequest) -> HttpResponse:
    form = FlowReviewForm(request.POST or None, initial={"reviewed_on": _today()})
    if request.method == "POST" and form.is_valid():
        review = services.flow_map_review_record(
            actor=request.membership,
            reviewed_on=form.cleaned_data["reviewed_on"],
            notes=form.cleaned_data["notes"],
        )
        messages.success(
            request,
            f"Review signed off: {review.flow_count} flows, {review.flagged_count} flagged.",
        )
        return redirect(_url(request, "flow-map"))
    return _form_page(
        request,
        form,
        "Sign off the yearly flow map review",
        back_url=_url(request, "flow-map"),
        back_label="Flow map",
        submit_label="Sign off",
    )


# --- Import -----------------------------------------------------------------------------


@org_view(MANAGE)
@require_http_methods(["GET", "POST"])
def partners_import(request: OrgRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = services.partners_import(
                actor=request.membership,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["csv_text"],
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            if report.applied:
                messages.success(
                    request,
                    f"Imported: {report.created} created, {report.updated} updated, "
                    f"{report.unchanged} unchanged.",
                )
                return redirect(
                    _url(request, "vendor-list" if report.kind == "vendors" else "client-list")
                )
    return render(request, "partners/import.html", {"form": form, "report": report})
