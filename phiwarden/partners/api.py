"""The partners API under /api/v1/partners: the same selectors and services as the pages.
The token's capability is checked first (403), then the object's organization (404)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from phiwarden.accounts.api_auth import token_require
from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.partners import selectors, services
from phiwarden.partners.checks import BaaCheck, CheckedFlow, PartnerIndex, flows_checked
from phiwarden.partners.models import Attestation, Baa, BaaDocument, ClientProfile, Flow, Vendor
from phiwarden.partners.schemas import (
    AttestationIn,
    AttestationOut,
    BaaCheckOut,
    BaaDocumentOut,
    BaaIn,
    BaaOut,
    BaaPatch,
    BaaTerminateIn,
    ChannelsIn,
    ChannelsOut,
    ClientOut,
    ClientProfileIn,
    DiligenceIn,
    DiligenceOut,
    DocumentOut,
    FlagOut,
    FlowIn,
    FlowMapReviewIn,
    FlowMapReviewOut,
    FlowOut,
    FlowPatch,
    ImportIn,
    ImportOut,
    RowErrorOut,
    VendorIn,
    VendorOut,
    VendorPatch,
    VendorStatusIn,
)
from phiwarden.partners.services.documents import PURPOSE_PREFIX
from phiwarden.vault.blobs import blob_read
from phiwarden.vault.models import EncryptedBlob

router = Router(tags=["partners"])
VIEW, MANAGE = Capability.PARTNERS_VIEW, Capability.PARTNERS_MANAGE


def _member(request: HttpRequest, capability: Capability) -> Membership:
    return token_require(request, capability).membership


def _check_out(check: BaaCheck) -> BaaCheckOut:
    return BaaCheckOut(
        state=check.state.value,
        label=check.state.label,
        baa_id=check.baa.pk if check.baa else None,
        expires_on=check.expires_on,
        warning_days=check.warning_days,
    )


def _labelled(error: ValidationError) -> list[str]:
    """Each message with the API field it is about ("expires_on: ..."), so a script knows
    what to fix; messages about the whole request stay as they are."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    return [
        message if field == "__all__" else f"{API_FIELD_NAMES.get(field, field)}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    ]


API_FIELD_NAMES = {
    "baa": "baa_id",
    "source_client": "source_client_id",
    "source_vendor": "source_vendor_id",
    "destination_client": "destination_client_id",
    "destination_vendor": "destination_vendor_id",
}


@contextmanager
def _field_errors() -> Iterator[None]:
    """Validation errors answer 422 (phiwarden.api) with field-labelled messages."""
    try:
        yield
    except ValidationError as error:
        raise ValidationError(_labelled(error)) from None


def _patched(current: dict[str, Any], patch: dict[str, Any], nullable: set[str]) -> dict[str, Any]:
    """`current` with the fields a PATCH sent; null is refused where a value is required."""
    refused = [name for name, value in patch.items() if value is None and name not in nullable]
    if refused:
        raise ValidationError([f"{name}: may not be null." for name in sorted(refused)])
    return {**current, **patch}


def _document_out(blob: EncryptedBlob) -> DocumentOut:
    return DocumentOut(
        id=blob.pk,
        purpose=blob.purpose.removeprefix(PURPOSE_PREFIX),
        size=blob.size,
        sha256=blob.sha256,
        uploaded_at=blob.created_at,
    )


def _baa_document_out(document: BaaDocument) -> BaaDocumentOut:
    return BaaDocumentOut(
        baa_id=document.baa_id, version=document.version, document=_document_out(document.blob)
    )


def _attestation_out(attestation: Attestation) -> AttestationOut:
    return AttestationOut(
        id=attestation.pk,
        vendor_id=attestation.vendor_id,
        kind=attestation.kind,
        title=attestation.title,
        issued_on=attestation.issued_on,
        expires_on=attestation.expires_on,
        has_document=attestation.document_id is not None,
        document_id=attestation.document_id,
    )


def _vendor_out(vendor: Vendor, index: PartnerIndex) -> VendorOut:
    review = index.vendor_diligence(vendor)
    return VendorOut(
        id=vendor.pk,
        name=vendor.name,
        kind=vendor.kind,
        services=vendor.services,
        phi_classes=list(vendor.phi_classes),
        handles_phi=vendor.handles_phi,
        risk_tier=vendor.risk_tier,
        status=vendor.status,
        baa=_check_out(index.vendor_check(vendor)),
        diligence_done=review is not None,
        next_diligence_review_on=review.next_review_on if review else None,
    )


def _baa_out(baa: Baa, today: dt.date) -> BaaOut:
    return BaaOut(
        id=baa.pk,
        direction=baa.direction,
        party=baa.party_label,
        client_id=baa.client_id,
        vendor_id=baa.vendor_id,
        subcontractor_name=baa.subcontractor_name,
        status=baa.status,
        in_force=baa.is_current(today),
        signed_on=baa.signed_on,
        effective_on=baa.effective_on,
        ends_on=baa.current_expiry(today),
        auto_renews=baa.auto_renews,
        notice_window_days=baa.notice_window_days,
        notice_window_kind=baa.notice_window_kind,
        notice_channel=baa.notice_channel,
        subcontractor_flow_down=baa.subcontractor_flow_down,
        return_or_destroy=baa.return_or_destroy,
        offshore_allowed=baa.offshore_allowed,
        terminated_on=baa.terminated_on,
        disposition=baa.disposition,
        document_versions=baa.documents.count(),
        certificate_document_id=baa.disposition_certificate_id,
    )


def _flow_out(checked: CheckedFlow) -> FlowOut:
    flow = checked.flow
    return FlowOut(
        id=flow.pk,
        stage=flow.stage,
        name=flow.name,
        status=flow.status,
        source=flow.source_label,
        destination=flow.destination_label,
        channel=flow.channel,
        phi_classes=list(flow.phi_classes),
        encrypted_in_transit=flow.encrypted_in_transit,
        encrypted_at_rest=flow.encrypted_at_rest,
        volume=flow.volume,
        baa_id=flow.baa_id,
        observed_count=flow.observed_count,
        flags=[
            FlagOut(kind=f.kind.value, detail=f.detail, citation=f.kind.citation)
            for f in checked.flags
        ],
    )


# --- Vendors -----------------------------------------------------------------------------


@router.get("/vendors", response=list[VendorOut])
def vendor_list(request: HttpRequest) -> list[VendorOut]:
    membership = _member(request, VIEW)
    index = PartnerIndex.load(membership.organization, timezone.localdate())
    vendors = selectors.vendors_list_for_user(membership=membership)
    return [_vendor_out(v, index) for v in vendors]


@router.post("/vendors", response={201: VendorOut})
def vendor_create(request: HttpRequest, payload: VendorIn) -> Status[VendorOut]:
    membership = _member(request, MANAGE)
    with _field_errors():
        vendor = services.vendor_create(
            actor=membership, data=services.VendorData(**payload.dict())
        )
    index = PartnerIndex.load(membership.organization, timezone.localdate())
    return Status(201, _vendor_out(vendor, index))


@router.get("/vendors/{vendor_id}", response=VendorOut)
def vendor_detail(request: HttpRequest, vendor_id: int) -> VendorOut:
    membership = _member(request, VIEW)
    vendor = selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
    return _vendor_out(vendor, PartnerIndex.load(membership.organization, timezone.localdate()))


@router.patch("/vendors/{vendor_id}", response=VendorOut)
def vendor_update(request: HttpRequest, vendor_id: int, payload: VendorPatch) -> VendorOut:
    """Change the fields sent; the status has its own endpoint (approval needs diligence)."""
    membership = _member(request, MANAGE)
    vendor = selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
    current = {name: getattr(vendor, name) for name in services.VendorData.__dataclass_fields__}
    with _field_errors():
        values = _patched(current, payload.dict(exclude_unset=True), nullable=set())
        services.vendor_update(actor=membership, vendor=vendor, data=services.VendorData(**values))
    return _vendor_out(vendor, PartnerIndex.load(membership.organization, timezone.localdate()))


@router.post("/vendors/{vendor_id}/diligence", response={201: DiligenceOut})
def vendor_diligence(
    request: HttpRequest, vendor_id: int, payload: DiligenceIn
) -> Status[DiligenceOut]:
    membership = _member(request, MANAGE)
    vendor = selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
    with _field_errors():
        review = services.diligence_record(actor=membership, vendor=vendor, **payload.dict())
    return Status(
        201,
        DiligenceOut(
            id=review.pk,
            vendor_id=vendor.pk,
            score=review.score,
            decision=review.decision,
            decided_on=review.decided_on,
            next_review_on=review.next_review_on,
        ),
    )


@router.post("/vendors/{vendor_id}/status", response=VendorOut)
def vendor_status(request: HttpRequest, vendor_id: int, payload: VendorStatusIn) -> VendorOut:
    membership = _member(request, MANAGE)
    vendor = selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
    with _field_errors():
        services.vendor_set_status(actor=membership, vendor=vendor, status=payload.status)
    return _vendor_out(vendor, PartnerIndex.load(membership.organization, timezone.localdate()))


@router.post("/vendors/{vendor_id}/attestations", response={201: AttestationOut})
def vendor_attestation(
    request: HttpRequest, vendor_id: int, payload: AttestationIn
) -> Status[AttestationOut]:
    """Record the attestation's dates; attach its report with
    POST /vendors/{vendor_id}/attestations/{attestation_id}/document (stored encrypted)."""
    membership = _member(request, MANAGE)
    vendor = selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
    with _field_errors():
        attestation = services.attestation_record(actor=membership, vendor=vendor, **payload.dict())
    return Status(201, _attestation_out(attestation))


@router.get("/vendors/{vendor_id}/attestations", response=list[AttestationOut])
def vendor_attestations(request: HttpRequest, vendor_id: int) -> list[AttestationOut]:
    membership = _member(request, VIEW)
    vendor = selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
    attestations = selectors.attestations_for_user(membership=membership, vendor=vendor)
    return [_attestation_out(a) for a in attestations]


@router.post("/vendors/{vendor_id}/attestations/{attestation_id}/document", response=AttestationOut)
def attestation_document(
    request: HttpRequest, vendor_id: int, attestation_id: int, file: File[UploadedFile]
) -> AttestationOut:
    """Attach the report (a PDF, multipart field `file`), stored encrypted; once only."""
    membership = _member(request, MANAGE)
    vendor = selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
    attestation = selectors.attestation_get_for_user(
        membership=membership, vendor=vendor, attestation_id=attestation_id
    )
    with _field_errors():
        services.attestation_document_attach(actor=membership, attestation=attestation, upload=file)
    return _attestation_out(attestation)


# --- Clients -----------------------------------------------------------------------------


@router.get("/clients", response=list[ClientOut])
def client_list(request: HttpRequest) -> list[ClientOut]:
    membership = _member(request, VIEW)
    index = PartnerIndex.load(membership.organization, timezone.localdate())
    profiles = selectors.client_profiles_by_client(membership=membership)
    out = []
    for client in selectors.clients_list_for_partners(membership=membership):
        profile = profiles.get(client.pk) or ClientProfile(client=client)
        out.append(
            ClientOut(
                id=client.pk,
                name=client.name,
                is_active=client.is_active,
                privacy_officer_name=profile.privacy_officer_name,
                privacy_officer_email=profile.privacy_officer_email,
                states_served=list(profile.states_served),
                baa=_check_out(index.client_check(client)),
            )
        )
    return out


@router.get("/clients/{client_id}/baa-check", response=BaaCheckOut)
def client_baa_check(request: HttpRequest, client_id: int) -> BaaCheckOut:
    membership = _member(request, VIEW)
    client = selectors.client_get_for_partners(membership=membership, client_id=client_id)
    index = PartnerIndex.load(membership.organization, timezone.localdate())
    return _check_out(index.client_check(client))


@router.put("/clients/{client_id}/profile", response=ClientOut)
def client_profile(request: HttpRequest, client_id: int, payload: ClientProfileIn) -> ClientOut:
    membership = _member(request, MANAGE)
    client = selectors.client_get_for_partners(membership=membership, client_id=client_id)
    with _field_errors():
        profile = services.client_profile_update(
            actor=membership, client=client, data=services.ClientProfileData(**payload.dict())
        )
    index = PartnerIndex.load(membership.organization, timezone.localdate())
    return ClientOut(
        id=client.pk,
        name=client.name,
        is_active=client.is_active,
        privacy_officer_name=profile.privacy_officer_name,
        privacy_officer_email=profile.privacy_officer_email,
        states_served=list(profile.states_served),
        baa=_check_out(index.client_check(client)),
    )


# --- BAAs --------------------------------------------------------------------------------


@router.get("/baas", response=list[BaaOut])
def baa_list(request: HttpRequest) -> list[BaaOut]:
    membership = _member(request, VIEW)
    today = timezone.localdate()
    baas = selectors.baas_list_for_user(membership=membership).prefetch_related("documents")
    return [_baa_out(b, today) for b in baas]


@router.post("/baas", response={201: BaaOut})
def baa_create(request: HttpRequest, payload: BaaIn) -> Status[BaaOut]:
    membership = _member(request, MANAGE)
    data = payload.dict()
    client_id, vendor_id = data.pop("client_id"), data.pop("vendor_id")
    subcontractor_name = data.pop("subcontractor_name")
    client = (
        selectors.client_get_for_partners(membership=membership, client_id=client_id)
        if client_id is not None
        else None
    )
    vendor = (
        selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
        if vendor_id is not None
        else None
    )
    with _field_errors():
        baa = services.baa_create(
            actor=membership,
            terms=services.BaaTerms(**data),
            client=client,
            vendor=vendor,
            subcontractor_name=subcontractor_name,
        )
    return Status(201, _baa_out(baa, timezone.localdate()))


@router.get("/baas/{baa_id}", response=BaaOut)
def baa_detail(request: HttpRequest, baa_id: int) -> BaaOut:
    membership = _member(request, VIEW)
    baa = selectors.baa_get_for_user(membership=membership, baa_id=baa_id)
    return _baa_out(baa, timezone.localdate())


@router.patch("/baas/{baa_id}", response=BaaOut)
def baa_update(request: HttpRequest, baa_id: int, payload: BaaPatch) -> BaaOut:
    """Amend the terms sent (not the parties); a terminated BAA cannot change."""
    membership = _member(request, MANAGE)
    baa = selectors.baa_get_for_user(membership=membership, baa_id=baa_id)
    current = {name: getattr(baa, name) for name in services.BaaTerms.__dataclass_fields__}
    nullable = {"signed_on", "effective_on", "expires_on"}
    with _field_errors():
        values = _patched(current, payload.dict(exclude_unset=True), nullable=nullable)
        services.baa_update(actor=membership, baa=baa, terms=services.BaaTerms(**values))
    return _baa_out(baa, timezone.localdate())


@router.get("/baas/{baa_id}/documents", response=list[BaaDocumentOut])
def baa_documents(request: HttpRequest, baa_id: int) -> list[BaaDocumentOut]:
    """The signed document's versions, newest first."""
    membership = _member(request, VIEW)
    baa = selectors.baa_get_for_user(membership=membership, baa_id=baa_id)
    documents = selectors.baa_documents_for_user(membership=membership, baa=baa)
    return [_baa_document_out(d) for d in documents.select_related("blob")]


@router.post("/baas/{baa_id}/documents", response={201: BaaDocumentOut})
def baa_document_upload(
    request: HttpRequest, baa_id: int, file: File[UploadedFile]
) -> Status[BaaDocumentOut]:
    """Store the next version of the signed BAA (a PDF, multipart field `file`), encrypted."""
    membership = _member(request, MANAGE)
    baa = selectors.baa_get_for_user(membership=membership, baa_id=baa_id)
    with _field_errors():
        document = services.baa_document_upload(actor=membership, baa=baa, upload=file)
    return Status(201, _baa_document_out(document))


@router.post("/baas/{baa_id}/terminate", response=BaaOut)
def baa_terminate(
    request: HttpRequest,
    baa_id: int,
    payload: Form[BaaTerminateIn],
    certificate: File[UploadedFile | None] = None,
) -> BaaOut:
    """End the BAA and record what became of the PHI, in one multipart form (as on the
    page): the fields of BaaTerminateIn and, optionally, the certificate of return or
    destruction as a PDF in `certificate`, stored encrypted (45 CFR 164.504(e)(2)(ii)(J))."""
    membership = _member(request, MANAGE)
    baa = selectors.baa_get_for_user(membership=membership, baa_id=baa_id)
    with _field_errors():
        services.baa_terminate(actor=membership, baa=baa, certificate=certificate, **payload.dict())
    return _baa_out(baa, timezone.localdate())


# --- Flows -------------------------------------------------------------------------------


@router.get("/flows", response=list[FlowOut])
def flow_list(request: HttpRequest) -> list[FlowOut]:
    membership = _member(request, VIEW)
    selectors.flows_list_for_user(membership=membership)  # the capability check
    return [_flow_out(c) for c in flows_checked(membership.organization, timezone.localdate())]


def _flow_data(membership: Membership, payload: FlowIn) -> services.FlowData:
    data = payload.dict()
    ends: dict[str, object] = {}
    for end in ("source", "destination"):
        client_id, vendor_id = data.pop(f"{end}_client_id"), data.pop(f"{end}_vendor_id")
        ends[f"{end}_client"] = (
            selectors.client_get_for_partners(membership=membership, client_id=client_id)
            if client_id is not None
            else None
        )
        ends[f"{end}_vendor"] = (
            selectors.vendor_get_for_user(membership=membership, vendor_id=vendor_id)
            if vendor_id is not None
            else None
        )
    baa_id = data.pop("baa_id")
    baa = selectors.baa_get_for_user(membership=membership, baa_id=baa_id) if baa_id else None
    return services.FlowData(**data, **ends, baa=baa)  # type: ignore[arg-type]


def _checked(membership: Membership, flow: Flow) -> CheckedFlow:
    index = PartnerIndex.load(membership.organization, timezone.localdate())
    return CheckedFlow(flow, index.flow_flags(flow))


@router.post("/flows", response={201: FlowOut})
def flow_create(request: HttpRequest, payload: FlowIn) -> Status[FlowOut]:
    membership = _member(request, MANAGE)
    with _field_errors():
        flow = services.flow_create(actor=membership, data=_flow_data(membership, payload))
    return Status(201, _flow_out(_checked(membership, flow)))


FLOW_ENDS = {
    end: (f"{end}_system", f"{end}_client_id", f"{end}_vendor_id")
    for end in ("source", "destination")
}


def _flow_current(flow: Flow) -> dict[str, Any]:
    current: dict[str, Any] = {
        name: getattr(flow, name)
        for name in FlowIn.model_fields
        if not name.endswith("_id") and not name.endswith("_system")
    }
    for system, client_id, vendor_id in FLOW_ENDS.values():
        current[system] = getattr(flow, system)
        current[client_id] = getattr(flow, client_id)
        current[vendor_id] = getattr(flow, vendor_id)
    current["phi_classes"] = list(flow.phi_classes)
    current["baa_id"] = flow.baa_id
    return current


@router.patch("/flows/{flow_id}", response=FlowOut)
def flow_update(request: HttpRequest, flow_id: int, payload: FlowPatch) -> FlowOut:
    """Change the fields sent. An end (source or destination) named in the request is
    replaced as a whole: send one of its system, client_id or vendor_id."""
    membership = _member(request, MANAGE)
    flow = selectors.flow_get_for_user(membership=membership, flow_id=flow_id)
    patch = payload.dict(exclude_unset=True)
    current = _flow_current(flow)
    for fields in FLOW_ENDS.values():
        if any(name in patch for name in fields):
            current.update({fields[0]: "", fields[1]: None, fields[2]: None})
            patch.setdefault(fields[0], "")
            if patch[fields[0]] is None:
                patch[fields[0]] = ""
    nullable = {"baa_id", *(f for fields in FLOW_ENDS.values() for f in fields[1:])}
    with _field_errors():
        values = _patched(current, patch, nullable=nullable)
        data = _flow_data(membership, FlowIn(**values))
        services.flow_update(actor=membership, flow=flow, data=data)
    return _flow_out(_checked(membership, flow))


@router.post("/flows/{flow_id}/confirm", response=FlowOut)
def flow_confirm(request: HttpRequest, flow_id: int) -> FlowOut:
    membership = _member(request, MANAGE)
    flow = selectors.flow_get_for_user(membership=membership, flow_id=flow_id)
    services.flow_confirm(actor=membership, flow=flow)
    return _flow_out(_checked(membership, flow))


@router.post("/flows/{flow_id}/retire", response=FlowOut)
def flow_retire(request: HttpRequest, flow_id: int) -> FlowOut:
    membership = _member(request, MANAGE)
    flow = selectors.flow_get_for_user(membership=membership, flow_id=flow_id)
    services.flow_retire(actor=membership, flow=flow)
    return _flow_out(_checked(membership, flow))


@router.get("/approved-channels", response=ChannelsOut)
def channels_get(request: HttpRequest) -> ChannelsOut:
    membership = _member(request, VIEW)
    index = PartnerIndex.load(membership.organization, timezone.localdate())
    return ChannelsOut(channels=sorted(index.approved_channels))


@router.put("/approved-channels", response=ChannelsOut)
def channels_put(request: HttpRequest, payload: ChannelsIn) -> ChannelsOut:
    membership = _member(request, MANAGE)
    return ChannelsOut(channels=services.channels_set(actor=membership, channels=payload.channels))


@router.post("/flow-map/reviews", response={201: FlowMapReviewOut})
def flow_map_review(request: HttpRequest, payload: FlowMapReviewIn) -> Status[FlowMapReviewOut]:
    membership = _member(request, MANAGE)
    review = services.flow_map_review_record(actor=membership, **payload.dict())
    return Status(
        201,
        FlowMapReviewOut(
            id=review.pk,
            reviewed_on=review.reviewed_on,
            flow_count=review.flow_count,
            flagged_count=review.flagged_count,
        ),
    )


# --- Documents ---------------------------------------------------------------------------


@router.get(
    "/documents/{document_id}",
    response={200: None},
    openapi_extra={
        "responses": {
            200: {
                "description": "The decrypted PDF, streamed",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def document_download(request: HttpRequest, document_id: int) -> StreamingHttpResponse:
    """A signed BAA, attestation report or certificate, decrypted as it streams; each
    download is audited (partners.document.downloaded), as on the pages."""
    membership = _member(request, VIEW)
    blob = selectors.partner_document_get_for_user(membership=membership, blob_id=document_id)
    services.document_download_record(actor=membership, blob=blob)
    response = StreamingHttpResponse(blob_read(blob), content_type=blob.content_type)
    response["Content-Disposition"] = f'attachment; filename="partner-document-{blob.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    response["Content-Length"] = str(blob.size)
    return response


# --- Import ------------------------------------------------------------------------------


@router.post("/import", response=ImportOut)
def partners_import(request: HttpRequest, payload: ImportIn) -> ImportOut:
    membership = _member(request, MANAGE)
    report = services.partners_import(
        actor=membership, kind=payload.kind, text=payload.csv, dry_run=payload.dry_run
    )
    return ImportOut(
        kind=report.kind.value,
        dry_run=report.dry_run,
        applied=report.applied,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        errors=[RowErrorOut(row=e.row, column=e.column, message=e.message) for e in report.errors],
    )


__all__ = ["router"]
