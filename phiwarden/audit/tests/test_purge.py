"""Retention purge: archive, delete, leave a signed record, and still verify
(45 CFR 164.316(b)(2)(i) six-year retention; audit/purge.py)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from phiwarden.audit.codes import EventCode
from phiwarden.audit.export import bundle_write
from phiwarden.audit.models import AuditEvent, PurgeRecord, SealedLeaf
from phiwarden.audit.purge import PurgeRefused, audit_purge, retention_cutoff
from phiwarden.audit.sealing import seal_all
from phiwarden.audit.tests.helpers import as_database_owner, write_events
from phiwarden.audit.verification import verify_database
from phiwarden.audit.verify import verify_bundle

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
EARLY_2019 = dt.datetime(2019, 1, 15, 9, 0, tzinfo=dt.UTC)
LATE_2019 = dt.datetime(2019, 9, 15, 9, 0, tzinfo=dt.UTC)


def _batch(organization, actor, count, at):
    """Write `count` events at `at` and seal them: one signed tree head per batch."""
    with time_machine.travel(at, tick=False):
        start = AuditEvent.objects.filter(organization=organization).count()
        write_events(organization, actor, count, start=start)
        seal_all()


@pytest.fixture
def history(organization, owner):
    """Seven years of log: 3 events early in 2019, 2 late in 2019, 4 this year."""
    _batch(organization, owner.user, 3, EARLY_2019)
    _batch(organization, owner.user, 2, LATE_2019)
    _batch(organization, owner.user, 4, NOW - dt.timedelta(days=3))
    return organization


def _log_ok() -> bool:
    return all(report.ok for report in verify_database())


@time_machine.travel(NOW, tick=False)
def test_purge_archives_deletes_and_the_log_still_verifies(history, tmp_path):
    log_id = history.pk

    result = audit_purge(log_id=log_id, before=retention_cutoff(), archive_dir=tmp_path)

    assert result.purged == 5
    record = result.record
    assert record is not None
    assert (record.first_sequence, record.last_sequence, record.tree_size) == (0, 4, 5)
    assert result.archive is not None
    assert all(report.ok for report in verify_bundle(str(result.archive)))
    remaining = SealedLeaf.objects.filter(log_id=log_id).order_by("sequence")
    assert list(remaining.values_list("sequence", flat=True)) == [5, 6, 7, 8]
    purged_event = AuditEvent.objects.get(event_code=EventCode.AUDIT_PURGED)
    assert purged_event.data["events"] == 5
    assert purged_event.data["archive_sha256"] == record.bundle_sha256
    seal_all()
    assert _log_ok()


@time_machine.travel(NOW, tick=False)
def test_an_export_after_the_purge_verifies_offline_from_the_purge_record(history, tmp_path):
    audit_purge(log_id=history.pk, before=retention_cutoff(), archive_dir=tmp_path / "archive")
    seal_all()
    bundle = tmp_path / "after.zip"

    bundle_write(log_ids=[history.pk], destination=bundle)

    reports = verify_bundle(str(bundle))
    assert [r.ok for r in reports] == [True]
    assert reports[0].events == 5  # four of this year's events and the purge event


@time_machine.travel(NOW, tick=False)
def test_purges_chain_one_after_another(history, tmp_path):
    first = audit_purge(
        log_id=history.pk, before=dt.datetime(2019, 6, 1, tzinfo=dt.UTC), archive_dir=tmp_path
    )
    second = audit_purge(log_id=history.pk, before=retention_cutoff(), archive_dir=tmp_path)

    assert first.record is not None
    assert second.record is not None
    assert (first.record.first_sequence, first.record.tree_size) == (0, 3)
    assert (second.record.first_sequence, second.record.tree_size) == (3, 5)
    assert all(r.ok for r in verify_bundle(str(second.archive)))
    seal_all()
    assert _log_ok()


@time_machine.travel(NOW, tick=False)
def test_the_boundary_stops_at_a_signed_head_that_holds_only_old_events(
    organization, owner, tmp_path
):
    _batch(organization, owner.user, 3, EARLY_2019)
    # One batch sealed now holds old and young events together: it cannot be split.
    with time_machine.travel(LATE_2019, tick=False):
        write_events(organization, owner.user, 2, start=3)
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        write_events(organization, owner.user, 2, start=5)
        seal_all()

    result = audit_purge(log_id=organization.pk, before=retention_cutoff(), archive_dir=tmp_path)

    assert result.purged == 3
    seal_all()
    assert _log_ok()


@time_machine.travel(NOW, tick=False)
def test_events_younger_than_retention_cannot_be_purged(history, tmp_path):
    before = AuditEvent.objects.count()

    with pytest.raises(PurgeRefused, match="retention period"):
        audit_purge(log_id=history.pk, before=NOW - dt.timedelta(days=30), archive_dir=tmp_path)

    assert AuditEvent.objects.count() == before
    assert not PurgeRecord.objects.exists()
    assert list(tmp_path.iterdir()) == []


@time_machine.travel(NOW, tick=False)
def test_a_dry_run_counts_and_changes_nothing(history, tmp_path):
    before = AuditEvent.objects.count()

    result = audit_purge(
        log_id=history.pk, before=retention_cutoff(), archive_dir=tmp_path, dry_run=True
    )

    assert result.purged == 5
    assert AuditEvent.objects.count() == before
    assert list(tmp_path.iterdir()) == []


@time_machine.travel(NOW, tick=False)
def test_a_forged_purge_record_fails_verification(history, tmp_path):
    audit_purge(log_id=history.pk, before=retention_cutoff(), archive_dir=tmp_path)
    seal_all()
    as_database_owner()
    PurgeRecord.objects.update(last_sequence=3)  # claims fewer events were purged

    problems = [p for r in verify_database() for p in r.problems]

    assert [p.reason for p in problems] == [
        "the retention purge record's signature does not verify"
    ]


@time_machine.travel(NOW, tick=False)
def test_a_deleted_purge_record_leaves_a_gap_that_verification_names(history, tmp_path):
    audit_purge(log_id=history.pk, before=retention_cutoff(), archive_dir=tmp_path)
    seal_all()
    as_database_owner()
    PurgeRecord.objects.all().delete()

    problems = [p for r in verify_database() for p in r.problems]

    assert len(problems) == 1
    assert "expected sequence 0, found 5" in problems[0].reason


@time_machine.travel(NOW, tick=False)
def test_the_command_purges_and_refuses_clearly(history, tmp_path):
    out = io.StringIO()

    call_command("audit_purge", "--org", history.slug, "--archive", str(tmp_path), stdout=out)

    assert "Purged 5 events" in out.getvalue()
    with pytest.raises(CommandError, match="retention period"):
        call_command(
            "audit_purge", "--org", history.slug, "--before", "2026-01-01",
            "--archive", str(tmp_path),
        )  # fmt: skip
    with pytest.raises(CommandError, match="No organization"):
        call_command("audit_purge", "--org", "nobody", "--archive", str(tmp_path))
