"""The orphan sweep deletes ciphertext files no row names, once past the grace period, and
never a file that a row names."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.vault.blobs import blob_storage, blob_store
from phiwarden.vault.models import EncryptedBlob
from phiwarden.vault.sweep import orphan_blobs_sweep

pytestmark = pytest.mark.django_db


def _store(organization, content: bytes = b"synthetic") -> EncryptedBlob:
    return blob_store(
        organization=organization,
        stream=io.BytesIO(content),
        filename="synthetic.txt",
        content_type="text/plain",
        purpose="test.sweep",
    )


def test_orphans_past_the_grace_period_go_and_named_files_stay(organization):
    kept = _store(organization)
    orphan = _store(organization, b"rolled back")
    orphan_name = orphan.storage_name
    EncryptedBlob.objects.filter(pk=orphan.pk).delete()  # what a rollback leaves behind
    storage = blob_storage()

    # (The in-memory test storage is shared by the tests of one process, so other tests'
    # leftovers may be swept too; the assertions name our files.)
    young = orphan_blobs_sweep(grace=dt.timedelta(hours=1))
    assert orphan_name not in young.orphans
    assert young.young_orphans >= 1
    later = timezone.now() + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        dry = orphan_blobs_sweep(grace=dt.timedelta(hours=1), dry_run=True)
        assert orphan_name in dry.orphans
        assert kept.storage_name not in dry.orphans
        assert storage.exists(orphan_name)
        swept = orphan_blobs_sweep(grace=dt.timedelta(hours=1))

    assert swept.deleted >= 1
    assert not storage.exists(orphan_name)
    assert storage.exists(kept.storage_name)
    event = AuditEvent.objects.get(event_code=EventCode.VAULT_ORPHANS_SWEPT)
    assert event.data["deleted"] == swept.deleted


def test_the_command_reports_counts_and_refuses_a_tiny_grace(organization):
    _store(organization)
    out = io.StringIO()

    call_command("vault_sweep_blobs", "--dry-run", stdout=out)

    assert "0 orphans past the grace period" in out.getvalue()  # ours is named by a row
    with pytest.raises(Exception, match="at least 1"):
        call_command("vault_sweep_blobs", "--grace-hours", "0.1")
