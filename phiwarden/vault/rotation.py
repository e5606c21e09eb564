"""Re-encrypting an organization's registered rows and files under its active data key.

Resumable by construction: a row is re-encrypted only when one of its tokens names
another key, so a run that was killed halfway finishes the job when run again. Each
batch is its own transaction with its own audit event; nothing in a batch is half done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction

from phiwarden.accounts.models import Organization
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.vault import registry
from phiwarden.vault.blobs import blob_reencrypt, blob_storage
from phiwarden.vault.models import DataKey, EncryptedBlob
from phiwarden.vault.services import (
    OrganizationCipher,
    cipher_cache_clear,
    cipher_for,
    token_key_id,
)

if TYPE_CHECKING:
    from phiwarden.vault.services import Actor

DEFAULT_BATCH_SIZE = 500
BLOB_BATCH_SIZE = 10
MAX_PASSES = 3  # a later pass catches rows written with a stale cipher during the first

Progress = Callable[[int], None]


@dataclass
class RotationReport:
    key_id: str
    rows: int = 0
    blobs: int = 0
    remaining: int = 0
    retired_key_ids: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.remaining == 0


def _is_stale(token: Any, key_id: str) -> bool:
    return token is not None and len(token) > 0 and token_key_id(token) != key_id


def _organization_rows(entry: registry.EncryptedModel, organization: Organization) -> Any:
    manager = entry.model._base_manager
    return manager.filter(**{entry.organization_field: organization}).order_by("pk")


def items_to_visit(organization: Organization) -> int:
    """How many rows and files one pass visits (the progress bar's total)."""
    rows: int = sum(_organization_rows(e, organization).count() for e in registry.registered())
    return rows + EncryptedBlob.objects.for_organization(organization).count()


def _reencrypt_rows(
    entry: registry.EncryptedModel,
    primary_keys: list[Any],
    *,
    organization: Organization,
    cipher: OrganizationCipher,
    actor: Actor,
) -> int:
    with transaction.atomic():
        rows = list(
            _organization_rows(entry, organization).select_for_update().filter(pk__in=primary_keys)
        )
        changed = []
        for row in rows:
            row_key = getattr(row, entry.row_key_field)
            stale = [c for c in entry.columns if _is_stale(getattr(row, c), cipher.key_id)]
            for column in stale:
                token = getattr(row, column)
                new = cipher.reencrypt(token, table=entry.table, column=column, row_key=row_key)
                setattr(row, column, new)
            if stale:
                changed.append(row)
        if changed:
            entry.model._base_manager.bulk_update(changed, list(entry.columns))
            audit_event_record(
                actor=actor,
                organization=organization,
                event_code=EventCode.VAULT_ROTATION_BATCH,
                data={
                    "model": entry.label,
                    "rows": len(changed),
                    "first_id": str(changed[0].pk),
                    "last_id": str(changed[-1].pk),
                    "key_id": cipher.key_id,
                },
            )
    return len(changed)


def _pass_rows(
    entry: registry.EncryptedModel,
    *,
    organization: Organization,
    cipher: OrganizationCipher,
    actor: Actor,
    batch_size: int,
    progress: Progress | None,
    dry_run: bool = False,
) -> int:
    """Walk the model's rows by primary key; re-encrypt (or, dry, count) the stale ones."""
    queryset = _organization_rows(entry, organization)
    last: Any = None
    count = 0
    while True:
        page_query = queryset if last is None else queryset.filter(pk__gt=last)
        page = list(page_query.values_list("pk", *entry.columns)[:batch_size])
        if not page:
            return count
        last = page[-1][0]
        stale = [row[0] for row in page if any(_is_stale(t, cipher.key_id) for t in row[1:])]
        if stale and dry_run:
            count += len(stale)
        elif stale:
            count += _reencrypt_rows(
                entry, stale, organization=organization, cipher=cipher, actor=actor
            )
        if progress is not None:
            progress(len(page))


def _stale_blobs(organization: Organization, cipher: OrganizationCipher) -> Any:
    return EncryptedBlob.objects.for_organization(organization).exclude(key_id=cipher.key_id)


def _pass_blobs(
    *,
    organization: Organization,
    cipher: OrganizationCipher,
    actor: Actor,
    progress: Progress | None,
) -> int:
    count = 0
    while ids := list(
        _stale_blobs(organization, cipher)
        .order_by("pk")
        .values_list("pk", flat=True)[:BLOB_BATCH_SIZE]
    ):
        written: list[str] = []
        try:
            with transaction.atomic():
                blobs = EncryptedBlob.objects.select_for_update().filter(pk__in=ids).order_by("pk")
                for blob in blobs:
                    name = blob_reencrypt(blob, cipher)
                    if name is not None:
                        written.append(name)
                audit_event_record(
                    actor=actor,
                    organization=organization,
                    event_code=EventCode.VAULT_ROTATION_BATCH,
                    data={
                        "model": EncryptedBlob._meta.label_lower,
                        "rows": len(written),
                        "first_id": str(ids[0]),
                        "last_id": str(ids[-1]),
                        "key_id": cipher.key_id,
                    },
                )
        except BaseException:
            _delete_all(written)
            raise
        count += len(written)
        if progress is not None:
            progress(len(ids))
    return count


def _delete_all(names: Iterable[str]) -> None:
    storage = blob_storage()
    for name in names:
        storage.delete(name)


def remaining(organization: Organization, cipher: OrganizationCipher) -> int:
    """Rows and files of the organization not yet under its active key (reads only)."""
    rows: int = sum(
        _pass_rows(
            e,
            organization=organization,
            cipher=cipher,
            actor=None,
            batch_size=1000,
            progress=None,
            dry_run=True,
        )
        for e in registry.registered()
    )
    stale_blobs: int = _stale_blobs(organization, cipher).count()
    return rows + stale_blobs


def reencrypt_organization(
    *,
    organization: Organization,
    actor: Actor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> RotationReport:
    """Move every registered row and file of `organization` to its active data key, then
    mark its RETIRING keys RETIRED. Safe to interrupt and to run again."""
    cipher = cipher_for(organization)
    retiring = list(
        DataKey.objects.for_organization(organization)
        .filter(state=DataKey.State.RETIRING)
        .values_list("key_id", flat=True)
    )
    with transaction.atomic():
        audit_event_record(
            actor=actor,
            organization=organization,
            event_code=EventCode.VAULT_ROTATION_STARTED,
            data={"key_id": cipher.key_id, "retiring": retiring},
        )
    report = RotationReport(key_id=cipher.key_id)
    for pass_number in range(MAX_PASSES):
        shown = progress if pass_number == 0 else None
        for entry in registry.registered():
            report.rows += _pass_rows(
                entry,
                organization=organization,
                cipher=cipher,
                actor=actor,
                batch_size=batch_size,
                progress=shown,
            )
        report.blobs += _pass_blobs(
            organization=organization, cipher=cipher, actor=actor, progress=shown
        )
        report.remaining = remaining(organization, cipher)
        if report.finished:
            break
    if report.finished:
        _finish(organization=organization, cipher=cipher, actor=actor, report=report)
    return report


def _finish(
    *, organization: Organization, cipher: OrganizationCipher, actor: Actor, report: RotationReport
) -> None:
    with transaction.atomic():
        retiring = DataKey.objects.for_organization(organization).filter(
            state=DataKey.State.RETIRING
        )
        report.retired_key_ids = list(retiring.values_list("key_id", flat=True))
        retiring.update(state=DataKey.State.RETIRED)
        audit_event_record(
            actor=actor,
            organization=organization,
            event_code=EventCode.VAULT_ROTATION_FINISHED,
            data={
                "key_id": cipher.key_id,
                "retired": report.retired_key_ids,
                "rows": report.rows,
                "files": report.blobs,
            },
        )
    cipher_cache_clear(organization.pk)
