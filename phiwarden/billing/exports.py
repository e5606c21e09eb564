"""Exports of work queues: projected like the pages, limited per role, recorded.

Each export first counts its rows. Within the member's limit (billing.export_limits) the
PHI door reads the rows (one audit event with every patient id and the fields disclosed),
an ExportRecord keeps the recipient and the reason, and the file is sent at once. Above
the limit the export becomes an ExportRequest (billing.services) that a privacy officer
other than the requester decides; the approved file is built the same way, at download
time. Files are built in memory (at most the approved rows) and sent with no-store caching.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone

from phiwarden.accounts.models import Membership
from phiwarden.billing import selectors
from phiwarden.billing.imports import max_upload_bytes
from phiwarden.billing.models import ExportRecord, ExportRequest
from phiwarden.core.exports import csv_lines, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload_limit_mb() -> int:
    return max_upload_bytes() // (1024 * 1024)


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, (list, tuple)):
        return " to ".join(str(v) for v in value if v is not None)
    return value


@dataclass
class ExportFile:
    content: bytes
    content_type: str
    filename: str
    rows: int

    def response(self) -> HttpResponse:
        response = HttpResponse(self.content, content_type=self.content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        response["Cache-Control"] = "no-store"
        return response


def queue_file(
    *,
    membership: Membership,
    purpose: str,
    status: str | None,
    client_id: int | None,
    file_format: str,
    recipient: str,
    reason: str,
    rows: int,
    request: ExportRequest | None = None,
) -> ExportFile:
    """Read up to `rows` rows through the PHI door, record the export, build the file.
    Call inside the caller's transaction when a state change must stand or fall with it."""
    with transaction.atomic():
        page = selectors.claim_queue(
            membership=membership,
            purpose=purpose,
            status=status,
            client_id=client_id,
            limit=rows,
            export=True,
        )
        fields = [f.value for f in selectors.QUEUE_FIELDS if f.value not in page.withheld]
        ExportRecord.objects.create(
            organization=membership.organization,
            member=membership.user,
            purpose=purpose,
            queue=status or "all",
            file_format=file_format,
            rows=len(page.rows),
            fields=fields,
            recipient=recipient,
            reason=reason,
            request=request,
        )
    header = ["claim_id", "client", "status", *fields]
    table = [
        [
            row.claim_id,
            row.client,
            row.status,
            *(_cell(row.projected.values.get(f)) for f in fields),
        ]
        for row in page.rows
    ]
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if file_format == "xlsx":
        return ExportFile(
            xlsx_bytes("Claims", header, table), XLSX, f"claims-{stamp}.xlsx", len(table)
        )
    text = "".join(csv_lines(header, table)).encode()
    return ExportFile(text, "text/csv; charset=utf-8", f"claims-{stamp}.csv", len(table))


def queue_export_response(
    *,
    membership: Membership,
    purpose: str,
    status: str | None,
    file_format: str,
    recipient: str,
    reason: str,
    row_limit: int,
    client_id: int | None = None,
) -> HttpResponse:
    """An export within the member's limit, sent at once; above it, refused (the page
    turns it into an export request before it gets here)."""
    total = selectors.claim_queue_size(membership=membership, status=status, client_id=client_id)
    if total > row_limit:
        raise ValidationError(
            f"This export would hold {total} rows; your limit is {row_limit}. Narrow the queue, "
            "or ask a privacy officer to approve a larger export."
        )
    return queue_file(
        membership=membership,
        purpose=purpose,
        status=status,
        client_id=client_id,
        file_format=file_format,
        recipient=recipient,
        reason=reason,
        rows=max(row_limit, 1),
    ).response()


__all__ = ["ExportFile", "queue_export_response", "queue_file", "upload_limit_mb"]
