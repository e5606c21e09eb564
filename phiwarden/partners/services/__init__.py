"""Writes for the partners app: each validates, saves and records its audit event together."""

from phiwarden.partners.services.baas import (
    BaaTerms,
    baa_create,
    baa_expiry_warnings_send,
    baa_terminate,
    baa_update,
)
from phiwarden.partners.services.documents import (
    attestation_document_attach,
    baa_document_upload,
    document_download_record,
)
from phiwarden.partners.services.flows import (
    BILLING_SYSTEM,
    FlowData,
    channels_set,
    flow_confirm,
    flow_create,
    flow_map_review_record,
    flow_observed,
    flow_retire,
    flow_update,
)
from phiwarden.partners.services.imports import ImportKind, ImportReport, partners_import
from phiwarden.partners.services.parties import (
    ClientProfileData,
    VendorData,
    attestation_record,
    client_profile_update,
    diligence_record,
    vendor_create,
    vendor_set_status,
    vendor_update,
)

__all__ = [
    "BILLING_SYSTEM",
    "BaaTerms",
    "ClientProfileData",
    "FlowData",
    "ImportKind",
    "ImportReport",
    "VendorData",
    "attestation_document_attach",
    "attestation_record",
    "baa_create",
    "baa_document_upload",
    "baa_expiry_warnings_send",
    "baa_terminate",
    "baa_update",
    "channels_set",
    "client_profile_update",
    "diligence_record",
    "document_download_record",
    "flow_confirm",
    "flow_create",
    "flow_map_review_record",
    "flow_observed",
    "flow_retire",
    "flow_update",
    "partners_import",
    "vendor_create",
    "vendor_set_status",
    "vendor_update",
]
