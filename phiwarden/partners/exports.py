"""Files out: the BAA register as CSV or XLSX (through core.exports, which neutralizes
formula-like cells), and the flow map as PDF (WeasyPrint). Every download is an audited
event (`export_record`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.template.loader import render_to_string

from phiwarden.accounts.models import Client, Membership
from phiwarden.audit.codes import EventCode
from phiwarden.core.exports import Cell, csv_lines, xlsx_bytes
from phiwarden.partners.checks import BaaState, CheckedFlow, PartnerIndex, baa_check
from phiwarden.partners.flowmap import flow_map_svg
from phiwarden.partners.models import Baa, Vendor
from phiwarden.partners.services.events import record

REGISTER_HEADER = (
    "BAA id",
    "Direction",
    "Party",
    "Record status",
    "Standing",
    "Signed on",
    "Effective on",
    "Ends on",
    "Auto-renews",
    "Breach notice window",
    "Notice channel",
    "Permitted uses",
    "Subcontractor flow-down",
    "Return or destroy",
    "Offshore allowed",
    "Terminated on",
    "PHI disposition",
)


def _baa_row(baa: Baa, state: BaaState, today: dt.date) -> list[Cell]:
    return [
        baa.pk,
        baa.get_direction_display(),
        baa.party_label,
        baa.get_status_display(),
        state.label,
        baa.signed_on,
        baa.effective_on,
        baa.current_expiry(today),
        baa.auto_renews,
        baa.notice_window.describe(),
        baa.notice_channel,
        baa.permitted_uses,
        baa.subcontractor_flow_down,
        baa.return_or_destroy,
        baa.offshore_allowed,
        baa.terminated_on,
        baa.get_disposition_display() if baa.disposition else "",
    ]


def register_rows(membership: Membership, today: dt.date) -> list[list[Cell]]:
    """One row per BAA, then one per active client or PHI vendor that has none at all."""
    organization = membership.organization
    rows: list[list[Cell]] = []
    baas = (
        Baa.objects.for_organization(organization)
        .select_related("client", "vendor")
        .order_by("direction", "pk")
    )
    for baa in baas:
        rows.append(_baa_row(baa, baa_check([baa], today).state, today))
    index = PartnerIndex.load(organization, today)
    missing = BaaState.MISSING.label
    for client in Client.objects.for_organization(organization).filter(is_active=True):
        if client.pk not in index.client_baas:
            rows.append(["", "Client → us", client.name, "", missing, *[None] * 12])
    vendors = Vendor.objects.for_organization(organization).filter(handles_phi=True)
    for vendor in vendors.exclude(status=Vendor.Status.TERMINATED):
        if vendor.pk not in index.vendor_baas:
            rows.append(["", "Us → vendor", vendor.name, "", missing, *[None] * 12])
    return rows


def register_csv(rows: Sequence[Sequence[Cell]]) -> bytes:
    return "".join(csv_lines(REGISTER_HEADER, rows)).encode("utf-8")


def register_xlsx(rows: Sequence[Sequence[Cell]]) -> bytes:
    return xlsx_bytes("BAA register", REGISTER_HEADER, rows)


def flow_map_pdf(membership: Membership, checked: list[CheckedFlow], today: dt.date) -> bytes:
    """The map and its table in one PDF. WeasyPrint gets no base URL and a fetcher that
    refuses every URL, so rendering never reaches the network or the file system."""
    from weasyprint import HTML  # type: ignore[import-untyped]
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    html = render_to_string(
        "partners/flow_map_pdf.html",
        {
            "organization": membership.organization,
            "svg": flow_map_svg(checked, organization_name=membership.organization.name),
            "checked": checked,
            "today": today,
        },
    )
    pdf: bytes = HTML(
        string=html, base_url=None, url_fetcher=URLFetcher(allowed_protocols=())
    ).write_pdf()
    return pdf


def export_record(*, actor: Membership, what: str, file_format: str, rows: int) -> None:
    """Downloads are audited: who took which register, in which format, how many rows."""
    with transaction.atomic():
        record(
            actor,
            actor.organization,
            EventCode.PARTNERS_EXPORTED,
            None,
            {"what": what, "format": file_format, "rows": rows},
        )
