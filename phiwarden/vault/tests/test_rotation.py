"""Data-key rotation with `rotate_keys --new-data-key`: every registered row and file moves
to the new key in batches, an interrupted run finishes when run again, and old keys are
retired but kept."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.vault import rotation
from phiwarden.vault.blobs import blob_filename, blob_read, blob_store
from phiwarden.vault.models import DataKey, EncryptedBlob
from phiwarden.vault.services import cipher_for, data_key_rotate, token_key_id
from phiwarden.vault.tests.conftest import read_name
from phiwarden.vault.tests.sample import SampleRecord

pytestmark = pytest.mark.django_db


class Interrupted(Exception):
    """Stands in for the operator's Ctrl-C or a killed process."""


def rotate(organization, *extra):
    call_command(
        "rotate_keys", "--new-data-key", "--org", organization.slug, "--no-progress", *extra
    )


def key_ids_in_use(organization):
    names = SampleRecord.objects.filter(organization=organization).values_list(
        "name_ciphertext", flat=True
    )
    return {token_key_id(token) for token in names}


def test_rotation_reencrypts_every_row_and_retires_the_old_key(organization, make_record):
    records = [make_record(organization, f"Synthetic Person {n}") for n in range(7)]
    old_key = cipher_for(organization).key_id

    rotate(organization, "--batch-size", "3")

    new_key = DataKey.objects.get(organization=organization, state=DataKey.State.ACTIVE).key_id
    assert new_key != old_key
    assert key_ids_in_use(organization) == {new_key}
    notes = SampleRecord.objects.values_list("note_ciphertext", flat=True)
    assert {token_key_id(n) for n in notes} == {new_key}
    assert [read_name(r) for r in records] == [f"Synthetic Person {n}" for n in range(7)]
    old = DataKey.objects.get(key_id=old_key)
    assert old.state == DataKey.State.RETIRED
    assert old.retired_at is not None


def test_rotation_leaves_other_organizations_alone(organization, other_organization, make_record):
    mine = make_record(organization, "Synthetic Person")
    theirs = make_record(other_organization, "Other Synthetic Person")
    their_token = bytes(SampleRecord.objects.get(pk=theirs.pk).name_ciphertext)

    rotate(organization)

    assert bytes(SampleRecord.objects.get(pk=theirs.pk).name_ciphertext) == their_token
    assert read_name(mine) == "Synthetic Person"
    assert DataKey.objects.filter(organization=other_organization).count() == 1


def test_null_columns_are_skipped(organization, make_record):
    record = make_record(organization, "Synthetic Person", note=None)

    rotate(organization)

    record.refresh_from_db()
    assert record.note_ciphertext is None
    assert read_name(record) == "Synthetic Person"


def test_each_batch_and_the_run_are_audited(organization, make_record):
    for n in range(5):
        make_record(organization, f"Synthetic Person {n}")

    rotate(organization, "--batch-size", "2")

    batches = AuditEvent.objects.filter(event_code=EventCode.VAULT_ROTATION_BATCH)
    assert [e.data["rows"] for e in batches.order_by("pk")] == [2, 2, 1]
    assert {e.data["model"] for e in batches} == {"vault.samplerecord"}
    assert AuditEvent.objects.filter(event_code=EventCode.VAULT_ROTATION_STARTED).count() == 1
    finished = AuditEvent.objects.get(event_code=EventCode.VAULT_ROTATION_FINISHED)
    assert finished.data["rows"] == 5
    assert len(finished.data["retired"]) == 1


def test_an_interrupted_rotation_keeps_every_row_readable_and_finishes_when_run_again(
    organization, make_record
):
    records = [make_record(organization, f"Synthetic Person {n}") for n in range(6)]
    old_key = cipher_for(organization).key_id
    new_key = data_key_rotate(organization=organization, actor=None).key_id
    calls = []

    def crash_after_first_batch(advance: int) -> None:
        calls.append(advance)
        raise Interrupted

    # when the process dies after its first batch of two rows
    with pytest.raises(Interrupted):
        rotation.reencrypt_organization(
            organization=organization, actor=None, batch_size=2, progress=crash_after_first_batch
        )

    # then that batch committed, the rest did not, and every row still reads
    assert key_ids_in_use(organization) == {old_key, new_key}
    in_new = [
        r
        for r in records
        if token_key_id(SampleRecord.objects.get(pk=r.pk).name_ciphertext) == new_key
    ]
    assert len(in_new) == 2
    assert [read_name(r) for r in records] == [f"Synthetic Person {n}" for n in range(6)]
    assert DataKey.objects.get(key_id=old_key).state == DataKey.State.RETIRING

    # and the same command run again resumes (no third key) and finishes
    rotate(organization, "--batch-size", "2")

    assert DataKey.objects.filter(organization=organization).count() == 2
    assert key_ids_in_use(organization) == {new_key}
    assert DataKey.objects.get(key_id=old_key).state == DataKey.State.RETIRED
    batches = AuditEvent.objects.filter(event_code=EventCode.VAULT_ROTATION_BATCH)
    assert sum(e.data["rows"] for e in batches) == 6  # no row re-encrypted twice
    assert [read_name(r) for r in records] == [f"Synthetic Person {n}" for n in range(6)]


def test_a_row_written_with_a_stale_cipher_during_rotation_is_caught(organization, make_record):
    make_record(organization, "Synthetic Person")
    stale = cipher_for(organization)  # a request that loaded its cipher before the rotation
    data_key_rotate(organization=organization, actor=None)
    late = SampleRecord(organization=organization)
    late.name_ciphertext = stale.encrypt_text(
        "Late Synthetic",
        table="vault_test_sample_record",
        column="name_ciphertext",
        row_key=late.row_key,
    )
    late.save()

    report = rotation.reencrypt_organization(organization=organization, actor=None)

    assert report.finished
    assert report.rows == 2
    assert read_name(late) == "Late Synthetic"


def test_rotation_reencrypts_files_and_their_names(
    organization, blob_dir, django_capture_on_commit_callbacks
):
    payload = b"ISA*synthetic*" * 10_000
    blob = blob_store(
        organization=organization,
        stream=io.BytesIO(payload),
        filename="synthetic-837.x12",
        content_type="application/edi-x12",
        purpose="x12",
    )
    old_file = blob_dir / blob.storage_name

    with django_capture_on_commit_callbacks(execute=True):
        rotate(organization)

    blob = EncryptedBlob.objects.get(pk=blob.pk)
    assert blob.key_id == cipher_for(organization).key_id
    assert b"".join(blob_read(blob)) == payload
    assert blob_filename(blob) == "synthetic-837.x12"
    assert not old_file.exists()  # deleted once the batch committed
    assert sorted(p.name for p in (blob_dir / str(organization.pk)).iterdir()) == [
        blob.storage_name.split("/")[-1]
    ]


def test_an_unknown_organization_is_a_command_error(db):
    with pytest.raises(CommandError, match="no organization"):
        call_command("rotate_keys", "--new-data-key", "--org", "missing", "--no-progress")


def test_new_data_key_needs_an_organization(db):
    with pytest.raises(CommandError, match="--org"):
        call_command("rotate_keys", "--new-data-key", "--no-progress")


def test_progress_counts_every_row_and_file_once(organization, make_record, blob_dir, capsys):
    for n in range(4):
        make_record(organization, f"Synthetic Person {n}")
    blob_store(
        organization=organization,
        stream=io.BytesIO(b"synthetic"),
        filename="synthetic.pdf",
        content_type="application/pdf",
        purpose="baa",
    )
    data_key_rotate(organization=organization, actor=None)
    seen: list[int] = []

    report = rotation.reencrypt_organization(
        organization=organization, actor=None, batch_size=3, progress=seen.append
    )

    assert sum(seen) == rotation.items_to_visit(organization) == 5
    assert (report.rows, report.blobs, report.remaining) == (4, 1, 0)


def test_the_command_reports_what_it_did(organization, make_record, capsys):
    for n in range(4):
        make_record(organization, f"Synthetic Person {n}")

    rotate(organization)

    assert "Re-encrypted 4 rows and 0 files" in capsys.readouterr().out
