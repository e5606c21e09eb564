"""JSON shapes of the partners API: each output lists its fields (no model is serialized
wholesale), each input is explicit."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


class BaaCheckOut(Schema):
    state: str
    label: str
    baa_id: int | None
    expires_on: dt.date | None
    warning_days: int | None


class VendorIn(Schema):
    name: str
    kind: str = "other"
    services: str = ""
    phi_classes: list[str] = []
    handles_phi: bool = True
    risk_tier: str = "high"
    contact_name: str = ""
    contact_email: str = ""


class VendorOut(Schema):
    id: int
    name: str
    kind: str
    services: str
    phi_classes: list[str]
    handles_phi: bool
    risk_tier: str
    status: str
    baa: BaaCheckOut
    diligence_done: bool
    next_diligence_review_on: dt.date | None


class DiligenceIn(Schema):
    answers: dict[str, str]
    decision: str
    decided_on: dt.date
    notes: str = ""


class DiligenceOut(Schema):
    id: int
    vendor_id: int
    score: int
    decision: str
    decided_on: dt.date
    next_review_on: dt.date


class ClientOut(Schema):
    id: int
    name: str
    is_active: bool
    privacy_officer_name: str
    privacy_officer_email: str
    states_served: list[str]
    baa: BaaCheckOut


class BaaIn(Schema):
    client_id: int | None = None
    vendor_id: int | None = None
    subcontractor_name: str = ""
    status: str = "draft"
    signed_on: dt.date | None = None
    effective_on: dt.date | None = None
    expires_on: dt.date | None = None
    auto_renews: bool = False
    renewal_months: int = 12
    notice_window_days: int = 60
    notice_window_kind: str = "calendar"
    notice_content: str = ""
    notice_channel: str = ""
    permitted_uses: str = ""
    subcontractor_flow_down: bool = True
    return_or_destroy: bool = True
    offshore_allowed: bool = False


class BaaOut(Schema):
    id: int
    direction: str
    party: str
    client_id: int | None
    vendor_id: int | None
    subcontractor_name: str
    status: str
    in_force: bool
    signed_on: dt.date | None
    effective_on: dt.date | None
    ends_on: dt.date | None
    auto_renews: bool
    notice_window_days: int
    notice_window_kind: str
    notice_channel: str
    subcontractor_flow_down: bool
    return_or_destroy: bool
    offshore_allowed: bool
    terminated_on: dt.date | None
    disposition: str
    document_versions: int
    certificate_document_id: int | None


class FlagOut(Schema):
    kind: str
    detail: str
    citation: str


class FlowIn(Schema):
    stage: str
    name: str
    channel: str
    source_system: str = ""
    source_client_id: int | None = None
    source_vendor_id: int | None = None
    destination_system: str = ""
    destination_client_id: int | None = None
    destination_vendor_id: int | None = None
    phi_classes: list[str] = []
    encrypted_in_transit: bool = True
    encrypted_at_rest: bool = True
    volume: str = ""
    baa_id: int | None = None


class FlowOut(Schema):
    id: int
    stage: str
    name: str
    status: str
    source: str
    destination: str
    channel: str
    phi_classes: list[str]
    encrypted_in_transit: bool
    encrypted_at_rest: bool
    volume: str
    baa_id: int | None
    observed_count: int
    flags: list[FlagOut]


class ImportIn(Schema):
    kind: str
    csv: str
    dry_run: bool = True


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    kind: str
    dry_run: bool
    applied: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorOut]


class VendorStatusIn(Schema):
    status: str


class AttestationIn(Schema):
    kind: str
    title: str = ""
    issued_on: dt.date
    expires_on: dt.date


class AttestationOut(Schema):
    id: int
    vendor_id: int
    kind: str
    title: str
    issued_on: dt.date
    expires_on: dt.date
    has_document: bool
    document_id: int | None


class ClientProfileIn(Schema):
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    privacy_officer_name: str = ""
    privacy_officer_email: str = ""
    privacy_officer_phone: str = ""
    states_served: list[str] = []


class BaaTerminateIn(Schema):
    terminated_on: dt.date
    reason: str
    disposition: str
    disposition_certified_on: dt.date | None = None


class ChannelsIn(Schema):
    channels: list[str]


class ChannelsOut(Schema):
    channels: list[str]


class FlowMapReviewIn(Schema):
    reviewed_on: dt.date
    notes: str = ""


class FlowMapReviewOut(Schema):
    id: int
    reviewed_on: dt.date
    flow_count: int
    flagged_count: int


# --- Updates (PATCH): only the fields sent change; null clears a date or the BAA link ------


class VendorPatch(Schema):
    name: str | None = None
    kind: str | None = None
    services: str | None = None
    phi_classes: list[str] | None = None
    handles_phi: bool | None = None
    risk_tier: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None


class BaaPatch(Schema):
    status: str | None = None
    signed_on: dt.date | None = None
    effective_on: dt.date | None = None
    expires_on: dt.date | None = None
    auto_renews: bool | None = None
    renewal_months: int | None = None
    notice_window_days: int | None = None
    notice_window_kind: str | None = None
    notice_content: str | None = None
    notice_channel: str | None = None
    permitted_uses: str | None = None
    subcontractor_flow_down: bool | None = None
    return_or_destroy: bool | None = None
    offshore_allowed: bool | None = None


class FlowPatch(Schema):
    """Either end, when any of its three fields is sent, is replaced as a whole."""

    stage: str | None = None
    name: str | None = None
    channel: str | None = None
    source_system: str | None = None
    source_client_id: int | None = None
    source_vendor_id: int | None = None
    destination_system: str | None = None
    destination_client_id: int | None = None
    destination_vendor_id: int | None = None
    phi_classes: list[str] | None = None
    encrypted_in_transit: bool | None = None
    encrypted_at_rest: bool | None = None
    volume: str | None = None
    baa_id: int | None = None


# --- Documents (stored encrypted; downloaded through GET /documents/{document_id}) ------


class DocumentOut(Schema):
    """One encrypted file: `id` is what GET /api/v1/partners/documents/{id} downloads."""

    id: int
    purpose: str
    size: int
    sha256: str
    uploaded_at: dt.datetime


class BaaDocumentOut(Schema):
    baa_id: int
    version: int
    document: DocumentOut
