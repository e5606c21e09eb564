"""The sealer: give pending events their place in the Merkle log and sign a tree head.

Steps for one log, in one transaction:
  1. Take the log's lock (PostgreSQL advisory lock; SQLite's IMMEDIATE transaction is
     already exclusive), so two sealers never hand out the same sequence number.
  2. Read the latest tree head's frontier, then up to `batch_size` pending events in id
     order. An event that committed late is simply pending now: nothing is skipped.
  3. For each event: sequence = tree size so far; leaf = SHA-256(0x00 || canonical record).
  4. Insert the leaves, delete the pending markers, sign and insert the new tree head.
  5. After commit, send the tree head to the configured sinks outside the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from phiwarden.audit import merkle
from phiwarden.audit.canonical import event_bytes, tree_head_bytes
from phiwarden.audit.models import AuditEvent, PendingSeal, SealedLeaf, TreeHead
from phiwarden.audit.records import event_record, iso_utc, patient_ids_by_event
from phiwarden.audit.signing import SigningKey, configured_signing_key

DEFAULT_BATCH_SIZE = 5000
_ADVISORY_NAMESPACE = 0x5EA1  # "seal": keeps our advisory locks apart from anyone else's


@dataclass(frozen=True)
class SealResult:
    log_id: int
    sealed: int
    tree_head: TreeHead | None


def latest_tree_head(log_id: int) -> TreeHead | None:
    return TreeHead.objects.filter(log_id=log_id).order_by("-tree_size").first()


def _lock_log(log_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADVISORY_NAMESPACE, log_id])


def sign_tree_head(
    *, log_id: int, frontier: merkle.Frontier, key: SigningKey, issued_at: datetime | None = None
) -> TreeHead:
    stamp = iso_utc(issued_at or datetime.now(tz=UTC))
    root = frontier.root()
    message = tree_head_bytes(
        organization_id=log_id, tree_size=frontier.size, root_hex=root.hex(), issued_at=stamp
    )
    return TreeHead(
        log_id=log_id, tree_size=frontier.size, root_hash=root, issued_at=stamp,
        key_id=key.key_id, signature=key.sign(message), frontier=frontier.to_json(),
    )  # fmt: skip


def seal_log(
    log_id: int, *, batch_size: int = DEFAULT_BATCH_SIZE, key: SigningKey | None = None
) -> SealResult:
    """Seal up to `batch_size` pending events of one log. Call again while it seals some."""
    key = key or configured_signing_key()
    with transaction.atomic():
        _lock_log(log_id)
        pending = list(
            PendingSeal.objects.filter(log_id=log_id)
            .order_by("event_id")
            .values_list("event_id", flat=True)[:batch_size]
        )
        if not pending:
            return SealResult(log_id=log_id, sealed=0, tree_head=None)
        previous = latest_tree_head(log_id)
        frontier = merkle.Frontier.from_json(previous.frontier) if previous else merkle.Frontier()
        events = AuditEvent.objects.filter(pk__in=pending).order_by("pk")
        patients = patient_ids_by_event(pending)
        leaves = []
        for event in events:
            record = event_record(event, sequence=frontier.size, patient_ids=patients[event.pk])
            leaf = merkle.leaf_hash(event_bytes(record))
            leaves.append(
                SealedLeaf(event_id=event.pk, log_id=log_id, sequence=frontier.size, leaf_hash=leaf)
            )
            frontier.append(leaf)
        SealedLeaf.objects.bulk_create(leaves, batch_size=1000)
        PendingSeal.objects.filter(event_id__in=pending).delete()
        head = sign_tree_head(log_id=log_id, frontier=frontier, key=key)
        head.save()
        transaction.on_commit(lambda: _export(head))
    return SealResult(log_id=log_id, sealed=len(leaves), tree_head=head)


def seal_all(
    *, batch_size: int = DEFAULT_BATCH_SIZE, key: SigningKey | None = None
) -> list[SealResult]:
    """Seal every log until nothing is pending; one tree head per batch."""
    results: list[SealResult] = []
    for log_id in (
        PendingSeal.objects.values_list("log_id", flat=True).distinct().order_by("log_id")
    ):
        while True:
            result = seal_log(log_id, batch_size=batch_size, key=key)
            if result.sealed == 0:
                break
            results.append(result)
    return results


def _export(head: TreeHead) -> None:
    from phiwarden.audit.sinks import tree_head_export

    tree_head_export(head)
