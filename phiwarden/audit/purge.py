"""Retention purge: archive the oldest part of a log to a verified bundle, then delete it,
leaving a signed record from which verification continues.

45 CFR 164.316(b)(2)(i) keeps documentation six years; settings.AUDIT_RETENTION_DAYS is
at least that, and nothing younger can be purged. The steps, for one log, in one
transaction under the log's seal lock:

  1. The boundary is the largest signed tree head whose every event is older than the
     cut-off (and older than the previous boundary's successors): purging stops at a
     signed root, so the archive verifies on its own.
  2. The archive bundle (events and heads up to the boundary, starting from the previous
     purge record if any) is written and verified offline before anything is deleted.
  3. With a purge permit held only inside this transaction, the triggers let the range's
     patient links, leaves and events be deleted (audit/triggers.py).
  4. A purge record is signed (canonical.purge_bytes): the range, the boundary's size,
     root and frontier, and the archive's SHA-256. `audit_verify` and the offline verifier
     start from its frontier; a forged or missing record makes verification fail.
  5. An `audit.log.purged` event records who purged what; it is sealed like any other.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from phiwarden.accounts.models import Organization
from phiwarden.audit import merkle
from phiwarden.audit.canonical import purge_bytes
from phiwarden.audit.codes import EventCode
from phiwarden.audit.export import bundle_write, latest_purge
from phiwarden.audit.models import (
    AuditEvent,
    AuditEventPatient,
    PurgeRecord,
    SealedLeaf,
    TreeHead,
)
from phiwarden.audit.records import iso_utc
from phiwarden.audit.sealing import _lock_log
from phiwarden.audit.services import audit_event_record
from phiwarden.audit.signing import SigningKey, configured_signing_key
from phiwarden.audit.triggers import PERMIT_TABLE
from phiwarden.audit.verify import verify_bundle

DELETE_BATCH = 5000


class PurgeRefused(ValidationError):
    """The purge cannot run as asked; nothing was changed."""


@dataclass(frozen=True)
class PurgeResult:
    log_id: int
    purged: int
    record: PurgeRecord | None
    archive: Path | None


def retention_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)


def _boundary(log_id: int, start: int, before: datetime) -> int:
    """The largest signed tree size whose events (from `start`) all occurred before
    `before`; `start` when there is none."""
    first_young = (
        SealedLeaf.objects.filter(
            log_id=log_id, sequence__gte=start, event__occurred_at__gte=before
        )
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    heads = TreeHead.objects.filter(log_id=log_id, tree_size__gt=start)
    if first_young is not None:
        heads = heads.filter(tree_size__lte=first_young)
    size = heads.order_by("-tree_size").values_list("tree_size", flat=True).first()
    return int(size) if size is not None else start


def _frontier_at(log_id: int, previous: PurgeRecord | None, end: int) -> merkle.Frontier:
    frontier = merkle.Frontier.from_json(previous.frontier) if previous else merkle.Frontier()
    leaves = (
        SealedLeaf.objects.filter(log_id=log_id, sequence__gte=frontier.size, sequence__lt=end)
        .order_by("sequence")
        .values_list("leaf_hash", flat=True)
    )
    for leaf in leaves.iterator(chunk_size=DELETE_BATCH):
        frontier.append(bytes(leaf))
    return frontier


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _delete_range(log_id: int, start: int, end: int) -> int:
    """Delete the range's patient links, leaves and events, batch by batch. Runs only
    while the purge permit is held (the triggers refuse otherwise)."""
    deleted = 0
    for low in range(start, end, DELETE_BATCH):
        high = min(low + DELETE_BATCH, end)
        event_ids = list(
            SealedLeaf.objects.filter(
                log_id=log_id, sequence__gte=low, sequence__lt=high
            ).values_list("event_id", flat=True)
        )
        AuditEventPatient.objects.filter(event_id__in=event_ids)._raw_delete(connection.alias)
        SealedLeaf.objects.filter(event_id__in=event_ids)._raw_delete(connection.alias)
        AuditEvent.objects.filter(pk__in=event_ids)._raw_delete(connection.alias)
        deleted += len(event_ids)
    return deleted


def _sign(
    key: SigningKey,
    *,
    log_id: int,
    start: int,
    frontier: merkle.Frontier,
    bundle_sha256: str,
) -> PurgeRecord:
    stamp = iso_utc(datetime.now(tz=UTC))
    root_hex = frontier.root().hex()
    message = purge_bytes(
        organization_id=log_id, first_seq=start, last_seq=frontier.size - 1,
        tree_size=frontier.size, root_hex=root_hex, bundle_sha256=bundle_sha256,
        purged_at=stamp,
    )  # fmt: skip
    return PurgeRecord(
        log_id=log_id, first_sequence=start, last_sequence=frontier.size - 1,
        tree_size=frontier.size, root_hash=root_hex, frontier=frontier.to_json(),
        bundle_sha256=bundle_sha256, purged_at=stamp, key_id=key.key_id,
        signature=key.sign(message).hex(),
    )  # fmt: skip


def audit_purge(
    *,
    log_id: int,
    before: datetime,
    archive_dir: Path,
    key: SigningKey | None = None,
    dry_run: bool = False,
) -> PurgeResult:
    """Archive and purge the events of one log that occurred before `before`."""
    cutoff = retention_cutoff()
    if before > cutoff:
        raise PurgeRefused(
            f"Events younger than the retention period ({settings.AUDIT_RETENTION_DAYS} days, "
            f"45 CFR 164.316(b)(2)(i)) cannot be purged: choose a date before "
            f"{cutoff:%Y-%m-%d}."
        )
    key = key or configured_signing_key()
    with transaction.atomic():
        _lock_log(log_id)
        previous = latest_purge(log_id)
        start = previous.tree_size if previous else 0
        end = _boundary(log_id, start, before)
        if end <= start or dry_run:
            return PurgeResult(log_id=log_id, purged=end - start, record=None, archive=None)
        archive_dir.mkdir(parents=True, exist_ok=True)
        archive = archive_dir / f"audit-log-{log_id}-{start}-{end - 1}.zip"
        if archive.exists():
            raise PurgeRefused(
                f"{archive.name} already exists; move it away or choose another folder."
            )
        bundle_write(log_ids=[log_id], destination=archive, end=end)
        reports = verify_bundle(str(archive))
        if not reports or not all(r.ok for r in reports):
            archive.unlink(missing_ok=True)
            problems = "; ".join(p.describe() for r in reports for p in r.problems)
            raise PurgeRefused(f"The archive did not verify, nothing was purged: {problems}")
        frontier = _frontier_at(log_id, previous, end)
        record = _sign(
            key, log_id=log_id, start=start, frontier=frontier, bundle_sha256=_sha256_of(archive)
        )
        permit = secrets.token_hex(16)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {PERMIT_TABLE} (token) VALUES (%s)", [permit])  # noqa: S608
            purged = _delete_range(log_id, start, end)
            cursor.execute(f"DELETE FROM {PERMIT_TABLE} WHERE token = %s", [permit])  # noqa: S608
        record.save()
        audit_event_record(
            actor=None,
            organization=Organization.objects.filter(pk=log_id).first(),
            event_code=EventCode.AUDIT_PURGED,
            target=record,
            data={
                "log": log_id,
                "first_seq": start,
                "last_seq": end - 1,
                "events": purged,
                "archive_sha256": record.bundle_sha256,
            },
        )
    return PurgeResult(log_id=log_id, purged=purged, record=record, archive=archive)
