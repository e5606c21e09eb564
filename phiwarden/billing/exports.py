"""Exports of work queues: projected like the pages, limited per role, recorded.

Each export first counts its rows: above the member's limit it is refused (larger exports
need a privacy officer's approval). Then the PHI door reads the rows (one audit event
with every patient id and the fields disclosed) and an ExportRecord keeps the recipient
and the reason. The file is built in memory (at most the row limit) and sent with
no-store caching.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone

from phiwarden.accounts.models import Membership
from phiwarden.billing import selectors
from phiwarden.billing.imports import max_upload_bytes
from phiwarden.billing.minimum_necessary import PhiField
from phiwarden.billing.models import ExportRecord
from phiwarden.core.exports import csv_lines, xlsx_bytes


def upload_limit_mb() -> int:
    return max_upload_bytes() // (1024 * 1024)


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, (list, tuple)):
        return " to ".join(str(v) for v in value if v is not None)
    return value


def queue_export_response(
    *,
    membership: Membership,
    purpose: str,
    status: str | None,
    file_format: str,
    recipient: str,
    reason: str,
    row_limit: int,
) -> HttpResponse:
    total = selectors.claim_queue_count(membership=membership, status=status)
    if total > row_limit:
        raise ValidationError(
            f"This export would hold {total} rows; your limit is {row_limit}. Narrow the queue, "
            "or ask a privacy officer to approve a larger export."
        )
    with transaction.atomic():
        page = selectors.claim_queue(
            membership=membership, purpose=purpose, status=status, limit=row_limit, export=True
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
        )
    header = ["claim_id", "client", "status", *fields]
    rows = [
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
        response = HttpResponse(
            xlsx_bytes("Claims", header, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        name = f"claims-{stamp}.xlsx"
    else:
        response = HttpResponse(
            "".join(csv_lines(header, rows)), content_type="text/csv; charset=utf-8"
        )
        name = f"claims-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


__all__ = ["PhiField", "queue_export_response", "upload_limit_mb"]
