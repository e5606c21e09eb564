from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from phiwarden.audit import merkle
from phiwarden.audit.canonical import tree_head_bytes
from phiwarden.audit.models import AuditEventPatient, PendingSeal, SealedLeaf, TreeHead
from phiwarden.audit.sealing import seal_all, seal_log
from phiwarden.audit.signing import configured_signing_key, verify_signature
from phiwarden.audit.tests.helpers import sealed_log, write_events
from phiwarden.audit.verification import verify_database


def test_writer_marks_event_pending_and_indexes_patients(organization, owner):
    event = write_events(organization, owner.user, 2)[1]

    assert PendingSeal.objects.filter(event=event, log_id=organization.pk).exists()
    assert sorted(
        AuditEventPatient.objects.filter(event=event).values_list("patient_id", flat=True)
    ) == [
        1001,
        2001,
    ]
    assert event.fields_disclosed == ["member_id"]


def test_seal_numbers_events_in_order_and_signs_a_tree_head(organization, owner):
    events = write_events(organization, owner.user, 7)

    (result,) = seal_all()

    assert result.sealed == 7
    assert list(
        SealedLeaf.objects.filter(log_id=organization.pk)
        .order_by("sequence")
        .values_list("event_id", flat=True)
    ) == [e.pk for e in events]
    head = TreeHead.objects.get(log_id=organization.pk)
    assert head.tree_size == 7
    assert not PendingSeal.objects.exists()
    key = configured_signing_key()
    message = tree_head_bytes(
        organization_id=organization.pk,
        tree_size=7,
        root_hex=bytes(head.root_hash).hex(),
        issued_at=head.issued_at,
    )
    assert verify_signature(key.public_raw, bytes(head.signature), message)
    leaves = [
        bytes(x)
        for x in SealedLeaf.objects.order_by("sequence").values_list("leaf_hash", flat=True)
    ]
    assert merkle.root_of(leaves) == bytes(head.root_hash)


def test_sealing_twice_extends_the_same_tree(organization, owner):
    sealed_log(organization, owner.user, sizes=(5, 4, 1))

    sizes = list(
        TreeHead.objects.filter(log_id=organization.pk).values_list("tree_size", flat=True)
    )

    assert sizes == [5, 9, 10]
    assert all(report.ok for report in verify_database())


def test_seal_with_nothing_pending_changes_nothing(organization, owner):
    sealed_log(organization, owner.user, sizes=(2,))

    result = seal_log(organization.pk)

    assert result.sealed == 0
    assert TreeHead.objects.count() == 1


def test_batches_split_a_large_backlog_without_skipping(organization, owner):
    write_events(organization, owner.user, 11)

    results = seal_all(batch_size=4)

    assert [r.sealed for r in results] == [4, 4, 3]
    assert SealedLeaf.objects.count() == 11
    assert all(report.ok for report in verify_database())


def test_events_without_organization_go_to_the_installation_log(db):
    from phiwarden.audit.codes import EventCode, Outcome
    from phiwarden.audit.services import audit_event_record

    audit_event_record(
        actor=None, organization=None, event_code=EventCode.LOGIN_FAILED, outcome=Outcome.FAILED
    )
    seal_all()

    assert TreeHead.objects.get().log_id == 0


def test_seal_command_and_file_sink_write_tree_heads_outside_the_database(
    organization, owner, settings, tmp_path, django_capture_on_commit_callbacks
):
    sink = tmp_path / "heads.jsonl"
    settings.AUDIT_TREE_HEAD_SINKS = [f"file:{sink}"]
    write_events(organization, owner.user, 3)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("audit_seal")

    heads = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [h["tree_size"] for h in heads] == [3]
    assert heads[0]["root"] == bytes(TreeHead.objects.get().root_hash).hex()


@pytest.mark.django_db(transaction=True)
def test_tree_head_is_exported_only_after_commit(organization, owner, settings, tmp_path):
    sink = tmp_path / "heads.jsonl"
    settings.AUDIT_TREE_HEAD_SINKS = [f"file:{sink}"]
    write_events(organization, owner.user, 2)

    seal_all()

    assert sink.exists()
    assert all(report.ok for report in verify_database(external_head_files=[sink]))


def test_verify_command_exits_zero_on_an_intact_log(organization, owner, capsys):
    sealed_log(organization, owner.user)

    call_command("audit_verify", "--heads")

    assert f"OK log {organization.pk}: 9 events, 2 tree heads" in capsys.readouterr().out
