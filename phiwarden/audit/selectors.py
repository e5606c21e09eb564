"""Reads of the audit trail for a member: search with keyset pagination, and proofs.

45 CFR 164.308(a)(1)(ii)(D) information system activity review. Searching is itself
audited. Patient ids are shown (and searchable) only with audit.view_patient_ids.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit import merkle
from phiwarden.audit.models import AuditEvent, SealedLeaf, TreeHead

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
    *, membership: Membership, filters: AuditFilters, cursor: str | None = None, limit: int = 50
) -> AuditPage:
    """Newest first; keyset pagination on (occurred_at, id) so page 1,000 costs what page 1
    costs, whatever the table size."""
    capability_require(membership, Capability.AUDIT_VIEW)
    limit = max(1, min(limit, PAGE_SIZE_MAX))
    events = _filtered(membership, filters)
    if cursor:
        stamp, pk = decode_cursor(cursor)
        events = events.filter(Q(occurred_at__lt=stamp) | Q(occurred_at=stamp, id__lt=pk))
    page = list(events.order_by("-occurred_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return AuditPage(events=page, next_cursor=encode_cursor(page[-1]) if more and page else None)


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
