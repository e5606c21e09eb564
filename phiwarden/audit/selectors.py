"""Reads of the audit trail for a member: search with keyset pagination, and proofs.

45 CFR 164.308(a)(1)(ii)(D) information system activity review. Searching is itself
audited. Patient ids are shown (and searchable) only with audit.view_patient_ids.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit import merkle
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent, PurgeRecord, SealedLeaf, TreeHead
from phiwarden.audit.records import patient_ids_by_event
from phiwarden.audit.services import audit_event_record

PAGE_SIZE_MAX = 200


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    patient_id: int | None = None
    client_id: int | None = None
    event_code: str = ""
    purpose: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str | None


def encode_cursor(event: AuditEvent) -> str:
    raw = f"{event.occurred_at.isoformat()}|{event.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), int(pk)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationError("The page cursor is not valid; start from the first page.") from error


def _filtered(membership: Membership, filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.for_organization(membership.organization)
    if filters.patient_id is not None:
        capability_require(membership, Capability.AUDIT_VIEW_PATIENT_IDS)
        events = events.filter(patients__patient_id=filters.patient_id)
    if filters.actor_id is not None:
        events = events.filter(actor_id=filters.actor_id)
    if filters.client_id is not None:
        events = events.filter(data__client_id=filters.client_id)
    for name in ("event_code", "purpose", "outcome"):
        value = getattr(filters, name)
        if value:
            events = events.filter(**{name: value})
    if filters.since is not None:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(occurred_at__lt=filters.until)
    return events


def audit_events_search(
    *,
    membership: Membership,
    filters: AuditFilters,
    cursor: str | None = None,
    limit: int = 50,
    api_token_prefix: str = "",
) -> AuditPage:
    """Newest first; keyset pagination on (occurred_at, id) so page 1,000 costs what page 1
    costs, whatever the table size. The search is itself recorded, once per search (on its
    first page), in the same transaction as the read."""
    capability_require(membership, Capability.AUDIT_VIEW)
    with transaction.atomic():
        page = _search_page(membership, filters, cursor, limit)
        if cursor is None:
            audit_event_record(
                actor=membership.user,
                organization=membership.organization,
                event_code=EventCode.AUDIT_SEARCHED,
                api_token_prefix=api_token_prefix,
                data={
                    "patient_filter": filters.patient_id is not None,
                    "results": len(page.events),
                },
            )
    return page


def _search_page(
    membership: Membership, filters: AuditFilters, cursor: str | None, limit: int
) -> AuditPage:
    limit = max(1, min(limit, PAGE_SIZE_MAX))
    events = _filtered(membership, filters)
    if cursor:
        stamp, pk = decode_cursor(cursor)
        # The plain range lets the index seek to the cursor; the OR alone is only a filter,
        # and page k would scan every earlier page.
        events = events.filter(occurred_at__lte=stamp).filter(
            Q(occurred_at__lt=stamp) | Q(occurred_at=stamp, id__lt=pk)
        )
    page = list(events.order_by("-occurred_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return AuditPage(events=page, next_cursor=encode_cursor(page[-1]) if more and page else None)


# An export larger than this is refused with a request to narrow the filters: a file of
# millions of rows is not a review aid, and the offline bundle exists for whole logs.
EXPORT_ROWS_MAX = 250_000

EXPORT_HEADER = (
    "event_id", "occurred_at_utc", "actor_id", "actor", "api_token", "event_code", "outcome",
    "target_type", "target_id", "purpose", "request_id", "ip_address", "via",
    "fields_disclosed", "data",
)  # fmt: skip


@dataclass(frozen=True)
class AuditExport:
    header: tuple[str, ...]
    row_count: int
    rows: Iterator[tuple[Any, ...]]
    with_patient_ids: bool


def audit_events_export(
    *, membership: Membership, filters: AuditFilters, with_patient_ids: bool
) -> AuditExport:
    """The rows of a CSV export, oldest first, streamed in keyset batches. The caller
    records the export event before the first row leaves (fail closed)."""
    capability_require(membership, Capability.AUDIT_EXPORT)
    if with_patient_ids:
        capability_require(membership, Capability.AUDIT_VIEW_PATIENT_IDS)
    events = _filtered(membership, filters)
    row_count = events.count()
    if row_count > EXPORT_ROWS_MAX:
        raise ValidationError(
            f"The export would hold {row_count:,} events; narrow the filters to at most "
            f"{EXPORT_ROWS_MAX:,}, or export the whole log as a bundle (audit_export)."
        )
    header = EXPORT_HEADER + (("patient_ids",) if with_patient_ids else ())
    return AuditExport(
        header=header,
        row_count=row_count,
        rows=_export_rows(events, with_patient_ids),
        with_patient_ids=with_patient_ids,
    )


def _export_rows(events: QuerySet[AuditEvent], with_patient_ids: bool) -> Iterator[tuple[Any, ...]]:
    last_pk = 0
    while True:
        batch = list(events.filter(pk__gt=last_pk).order_by("pk")[:2000])
        if not batch:
            return
        patients = patient_ids_by_event(e.pk for e in batch) if with_patient_ids else {}
        for e in batch:
            row: tuple[Any, ...] = (
                e.pk, e.occurred_at.astimezone(UTC).isoformat(), e.actor_id, e.actor_label,
                e.api_token_prefix, e.event_code, e.outcome, e.target_type, e.target_id,
                e.purpose, e.request_id, e.ip_address, e.via, " ".join(e.fields_disclosed),
                json.dumps(e.data, sort_keys=True),
            )  # fmt: skip
            if with_patient_ids:
                row += (" ".join(str(p) for p in sorted(patients.get(e.pk, []))),)
            yield row
        last_pk = batch[-1].pk


def patient_ids_visible(membership: Membership) -> bool:
    return membership.can(Capability.AUDIT_VIEW_PATIENT_IDS)


@dataclass(frozen=True)
class InclusionProof:
    event_id: int
    sequence: int
    leaf_hash: str
    tree_size: int
    root: str
    path: list[str]


def _leaves(log_id: int, size: int) -> list[bytes]:
    if PurgeRecord.objects.filter(log_id=log_id).exists():
        # The proofs below rebuild the tree from every leaf; after a retention purge the
        # oldest leaves are gone. The archive bundle and the live log still verify.
        raise ValidationError(
            "Proofs are not served for a log with a retention purge yet; verify the exported "
            "bundle with `python -m phiwarden.audit.verify` instead."
        )
    rows = SealedLeaf.objects.filter(log_id=log_id, sequence__lt=size).order_by("sequence")
    return [bytes(h) for h in rows.values_list("leaf_hash", flat=True)]


def _head(log_id: int, tree_size: int | None) -> TreeHead:
    heads = TreeHead.objects.filter(log_id=log_id)
    head = (
        heads.filter(tree_size=tree_size).first()
        if tree_size
        else heads.order_by("-tree_size").first()
    )
    if head is None:
        raise Http404
    return head


def inclusion_proof_for_user(
    *, membership: Membership, event_id: int, tree_size: int | None = None
) -> InclusionProof:
    """Proof that one event is in the signed log (RFC 6962 §2.1.1)."""
    capability_require(membership, Capability.AUDIT_VIEW)
    log_id = membership.organization_id
    leaf = SealedLeaf.objects.filter(event_id=event_id, log_id=log_id).first()
    if leaf is None:
        raise Http404  # not ours, or not sealed yet
    head = _head(log_id, tree_size)
    if leaf.sequence >= head.tree_size:
        raise Http404
    leaves = _leaves(log_id, head.tree_size)
    path = merkle.inclusion_proof(leaves, leaf.sequence)
    return InclusionProof(
        event_id=event_id, sequence=leaf.sequence, leaf_hash=bytes(leaf.leaf_hash).hex(),
        tree_size=head.tree_size, root=bytes(head.root_hash).hex(), path=[p.hex() for p in path],
    )  # fmt: skip


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    old_root: str
    new_size: int
    new_root: str
    path: list[str]


def consistency_proof_for_user(
    *, membership: Membership, old_size: int, new_size: int
) -> ConsistencyProof:
    """Proof that the log of `new_size` extends the log of `old_size` (RFC 6962 §2.1.2)."""
    capability_require(membership, Capability.AUDIT_VIEW)
    if not 0 < old_size <= new_size:
        raise ValidationError("old_size must be at least 1 and at most new_size")
    log_id = membership.organization_id
    old, new = _head(log_id, old_size), _head(log_id, new_size)
    path = merkle.consistency_proof(_leaves(log_id, new.tree_size), old.tree_size)
    return ConsistencyProof(
        old_size=old.tree_size, old_root=bytes(old.root_hash).hex(),
        new_size=new.tree_size, new_root=bytes(new.root_hash).hex(), path=[p.hex() for p in path],
    )  # fmt: skip
