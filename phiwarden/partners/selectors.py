"""Reads for a member: fetch within the member's organization, require partners.view, and
answer 404 to anything of another organization. The register holds no PHI; reads are not
audited, downloads and exports are (see services.exports)."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.partners.models import (
    Attestation,
    Baa,
    BaaDocument,
    ClientProfile,
    Flow,
    FlowMapReview,
    Vendor,
)
from phiwarden.partners.services.documents import PURPOSE_PREFIX
from phiwarden.vault.models import EncryptedBlob


def _viewer_require(membership: Membership) -> None:
    capability_require(membership, Capability.PARTNERS_VIEW)


M = TypeVar("M", bound=Model)


def _one(queryset: QuerySet[M], pk: int) -> M:
    try:
        return queryset.get(pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def clients_list_for_partners(*, membership: Membership) -> QuerySet[Client]:
    """Every client of the organization (the contract register is not per-assignment)."""
    _viewer_require(membership)
    return Client.objects.for_organization(membership.organization)


def client_get_for_partners(*, membership: Membership, client_id: int) -> Client:
    return _one(clients_list_for_partners(membership=membership), client_id)


def vendors_list_for_user(*, membership: Membership) -> QuerySet[Vendor]:
    _viewer_require(membership)
    return Vendor.objects.for_organization(membership.organization)


def vendor_get_for_user(*, membership: Membership, vendor_id: int) -> Vendor:
    return _one(vendors_list_for_user(membership=membership), vendor_id)


def baas_list_for_user(*, membership: Membership) -> QuerySet[Baa]:
    _viewer_require(membership)
    return (
        Baa.objects.for_organization(membership.organization)
        .select_related("client", "vendor")
        .order_by("direction", "client__name", "vendor__name", "subcontractor_name", "pk")
    )


def baa_get_for_user(*, membership: Membership, baa_id: int) -> Baa:
    return _one(baas_list_for_user(membership=membership), baa_id)


def flows_list_for_user(*, membership: Membership) -> QuerySet[Flow]:
    _viewer_require(membership)
    return Flow.objects.for_organization(membership.organization).with_parties()


def flow_get_for_user(*, membership: Membership, flow_id: int) -> Flow:
    return _one(flows_list_for_user(membership=membership), flow_id)


def flow_map_reviews_for_user(*, membership: Membership) -> QuerySet[FlowMapReview]:
    _viewer_require(membership)
    return FlowMapReview.objects.for_organization(membership.organization).select_related(
        "reviewer"
    )


def baa_documents_for_user(*, membership: Membership, baa: Baa) -> QuerySet[BaaDocument]:
    _viewer_require(membership)
    return BaaDocument.objects.for_organization(membership.organization).filter(baa=baa)


def attestations_for_user(*, membership: Membership, vendor: Vendor) -> QuerySet[Attestation]:
    _viewer_require(membership)
    return Attestation.objects.for_organization(membership.organization).filter(vendor=vendor)


def attestation_get_for_user(
    *, membership: Membership, vendor: Vendor, attestation_id: int
) -> Attestation:
    return _one(attestations_for_user(membership=membership, vendor=vendor), attestation_id)


def partner_document_get_for_user(*, membership: Membership, blob_id: int) -> EncryptedBlob:
    """A vault file that belongs to this app (a BAA, attestation or certificate) in the
    member's organization; any other file, even of the same organization, is 404."""
    _viewer_require(membership)
    blobs = EncryptedBlob.objects.for_organization(membership.organization).filter(
        purpose__startswith=PURPOSE_PREFIX
    )
    return _one(blobs.select_related("organization"), blob_id)


def client_profiles_by_client(*, membership: Membership) -> dict[int, ClientProfile]:
    """Every client's profile in one query (clients without one are missing)."""
    _viewer_require(membership)
    profiles = ClientProfile.objects.for_organization(membership.organization)
    return {p.client_id: p for p in profiles}
