"""Remove ciphertext files that no EncryptedBlob row names.

`blob_store` writes the file before its row (vault/blobs.py), so a transaction that rolls
back, or a process killed mid-import, leaves an orphan: ciphertext under a data key, no
key material with it, but storage that grows and files that a retention policy cannot
account for. The sweep lists the blob storage, and deletes files with no row that are older
than a grace period (a file younger than that may belong to a transaction still open).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.vault.blobs import blob_storage
from phiwarden.vault.models import EncryptedBlob

DEFAULT_GRACE = dt.timedelta(hours=24)
CHECK_BATCH = 1000


@dataclass
class SweepResult:
    scanned: int = 0
    orphans: list[str] = field(default_factory=list)
    young_orphans: int = 0  # orphans inside the grace period, left alone
    deleted: int = 0


def _stored_names() -> Iterator[str]:
    storage = blob_storage()
    directories, _files = storage.listdir("")
    for directory in sorted(directories):
        _subdirs, files = storage.listdir(directory)
        for name in sorted(files):
            if name.endswith(".pwb"):
                yield f"{directory}/{name}"


def _batches(names: Iterator[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for name in names:
        batch.append(name)
        if len(batch) == CHECK_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def orphan_blobs_sweep(
    *, grace: dt.timedelta = DEFAULT_GRACE, dry_run: bool = False
) -> SweepResult:
    """Find (and unless `dry_run`, delete) files older than `grace` that no row names."""
    storage = blob_storage()
    cutoff = timezone.now() - grace
    result = SweepResult()
    for batch in _batches(_stored_names()):
        result.scanned += len(batch)
        known = set(
            EncryptedBlob.objects.filter(storage_name__in=batch).values_list(
                "storage_name", flat=True
            )
        )
        for name in batch:
            if name in known:
                continue
            if storage.get_modified_time(name) > cutoff:
                result.young_orphans += 1
                continue
            result.orphans.append(name)
    if dry_run or not result.orphans:
        return result
    for name in result.orphans:
        # Re-check just before deleting: a row may have been committed meanwhile.
        if not EncryptedBlob.objects.filter(storage_name=name).exists():
            storage.delete(name)
            result.deleted += 1
    with transaction.atomic():
        audit_event_record(
            actor=None,
            organization=None,
            event_code=EventCode.VAULT_ORPHANS_SWEPT,
            data={"scanned": result.scanned, "deleted": result.deleted},
        )
    return result
