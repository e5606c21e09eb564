"""Property-based tamper tests: whatever a database owner changes, audit_verify notices and
names the place; an untouched log always verifies. The triggers are dropped inside the
test transaction (as a DBA could) and come back with the rollback."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phiwarden.audit.models import AuditEvent, AuditEventPatient, SealedLeaf, TreeHead
from phiwarden.audit.tests.helpers import as_database_owner, events_in_sequence, sealed_log
from phiwarden.audit.verification import verify_database

FIELD_CHANGES = {
    "event_code": "accounts.logout",
    "outcome": "failed",
    "actor_label": "someone.else@example.test",
    "target_id": "999999",
    "purpose": "authorized",
    "ip_address": "203.0.113.9",
    "data": {"n": -1},
    "fields_disclosed": ["ssn"],
    "request_id": "f" * 32,
}
hypothesis_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def log(organization, owner):
    events = sealed_log(organization, owner.user, sizes=(6, 5))
    return organization, events


def problems_after(tamper):
    """Run `tamper` as a database owner, verify, and roll everything back."""
    with transaction.atomic():
        as_database_owner()
        tamper()
        reports = verify_database(external_head_files=[])
        transaction.set_rollback(True)
    return [p for r in reports for p in r.problems]


def _delete_event(event):
    AuditEventPatient.objects.filter(event=event).delete()
    SealedLeaf.objects.filter(event=event).delete()
    event.delete()


def test_untouched_log_verifies(log):
    assert problems_after(lambda: None) == []


@hypothesis_settings
@given(index=st.integers(min_value=0, max_value=10), field=st.sampled_from(sorted(FIELD_CHANGES)))
def test_changing_any_field_of_any_event_is_named(log, index, field):
    organization, _ = log
    target = events_in_sequence(organization)[index]

    problems = problems_after(
        lambda: AuditEvent.objects.filter(pk=target.pk).update(**{field: FIELD_CHANGES[field]})
    )

    assert problems[0].event_id == target.pk
    assert problems[0].sequence == index
    assert "differs from what was sealed" in problems[0].reason


@hypothesis_settings
@given(index=st.integers(min_value=0, max_value=10))
def test_changing_a_patient_link_is_named(log, index):
    organization, _ = log
    target = events_in_sequence(organization)[index]

    problems = problems_after(
        lambda: AuditEventPatient.objects.create(
            event=target, organization=organization, patient_id=7
        )
    )

    assert problems[0].event_id == target.pk


@hypothesis_settings
@given(index=st.integers(min_value=0, max_value=9))
def test_deleting_one_event_names_its_sequence(log, index):
    organization, _ = log
    target = events_in_sequence(organization)[index]

    problems = problems_after(lambda: _delete_event(target))

    assert problems[0].sequence == index
    assert "missing" in problems[0].reason


def test_deleting_the_last_event_is_caught_by_the_tree_head(log):
    organization, _ = log
    last = events_in_sequence(organization)[-1]

    problems = problems_after(lambda: _delete_event(last))

    assert problems[0].tree_size == 11
    assert "removed" in problems[0].reason


@hypothesis_settings
@given(cut=st.integers(min_value=1, max_value=11))
def test_truncating_the_tail_names_the_tree_head_that_covered_it(log, cut):
    organization, _ = log
    doomed = events_in_sequence(organization)[-cut:]

    problems = problems_after(lambda: [_delete_event(e) for e in doomed])

    assert problems[0].tree_size in {6, 11}
    assert "removed" in problems[0].reason


def test_truncating_the_tail_with_its_tree_heads_is_caught_by_the_outside_copy(log, tmp_path):
    organization, _ = log
    outside = tmp_path / "heads.jsonl"
    import json

    outside.write_text(
        "\n".join(json.dumps(h.as_json()) for h in TreeHead.objects.order_by("tree_size")) + "\n"
    )
    doomed = events_in_sequence(organization)[6:]

    with transaction.atomic():
        as_database_owner()
        for event in doomed:
            _delete_event(event)
        TreeHead.objects.filter(tree_size=11).delete()
        inside_only = verify_database(external_head_files=[])
        with_outside = verify_database(external_head_files=[outside])
        transaction.set_rollback(True)

    assert all(r.ok for r in inside_only)  # self-consistent inside the database...
    problem = next(p for r in with_outside for p in r.problems)  # ...but not with the copy
    assert problem.tree_size == 11


@hypothesis_settings
@given(pair=st.lists(st.integers(min_value=0, max_value=10), min_size=2, max_size=2, unique=True))
def test_reordering_two_events_names_the_first_of_them(log, pair):
    organization, _ = log
    first, second = sorted(pair)
    events = events_in_sequence(organization)

    def swap():
        a, b = events[first], events[second]
        SealedLeaf.objects.filter(event=a).update(sequence=-1)
        SealedLeaf.objects.filter(event=b).update(sequence=first)
        SealedLeaf.objects.filter(event=a).update(sequence=second)

    problems = problems_after(swap)

    assert problems[0].sequence == first
    assert problems[0].event_id == events[second].pk


def test_inserting_an_unsealed_event_without_marker_is_named(log, owner):
    organization, _ = log
    from django.utils import timezone

    def insert():
        return AuditEvent.objects.create(
            organization=organization, occurred_at=timezone.now(), event_code="accounts.logout"
        )

    with transaction.atomic():
        as_database_owner()
        forged = insert()
        problems = [p for r in verify_database(external_head_files=[]) for p in r.problems]
        transaction.set_rollback(True)

    assert problems[0].event_id == forged.pk
    assert "neither sealed nor waiting" in problems[0].reason


def test_inserting_a_sealed_event_after_the_last_tree_head_is_caught(log):
    organization, _ = log
    from django.utils import timezone

    def insert():
        event = AuditEvent.objects.create(
            organization=organization, occurred_at=timezone.now(), event_code="accounts.logout"
        )
        SealedLeaf.objects.create(
            event=event, log_id=organization.pk, sequence=11, leaf_hash=b"\0" * 32
        )

    problems = problems_after(insert)

    assert (
        "differs from what was sealed" in problems[0].reason or "not covered" in problems[0].reason
    )


@pytest.mark.parametrize("_case", ["root", "size", "signature"])
def test_forged_tree_head_fails_its_signature(log, _case):
    head = TreeHead.objects.get(tree_size=6)
    changes: dict[str, dict[str, Any]] = {
        "root": {"root_hash": b"\1" * 32},
        "size": {"tree_size": 5},
        "signature": {"signature": b"\2" * 64},
    }
    change = changes[_case]

    problems = problems_after(lambda: TreeHead.objects.filter(pk=head.pk).update(**change))

    assert "signature does not verify" in problems[0].reason


def test_tree_head_signed_with_another_key_is_refused(log):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from phiwarden.audit import merkle
    from phiwarden.audit.sealing import sign_tree_head
    from phiwarden.audit.signing import SigningKey

    organization, _ = log
    rogue = SigningKey(Ed25519PrivateKey.generate())
    head = TreeHead.objects.get(tree_size=11)

    def forge():
        TreeHead.objects.filter(pk=head.pk).delete()
        frontier = merkle.Frontier.from_json(head.frontier)
        sign_tree_head(log_id=organization.pk, frontier=frontier, key=rogue).save()

    problems = problems_after(forge)

    assert "signature does not verify" in problems[0].reason
    assert connection.vendor in {"sqlite", "postgresql"}
