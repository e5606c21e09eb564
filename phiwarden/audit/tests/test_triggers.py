from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from phiwarden.audit.models import AuditEvent, SealedLeaf, TreeHead
from phiwarden.audit.tests.helpers import sealed_log


@pytest.fixture
def sealed(organization, owner):
    return sealed_log(organization, owner.user, sizes=(3,))


@pytest.mark.parametrize(
    ("_case", "model"),
    [("events", AuditEvent), ("leaves", SealedLeaf), ("tree_heads", TreeHead)],
)
def test_update_is_refused_by_the_database(sealed, _case, model):
    change = {TreeHead: {"tree_size": 99}, SealedLeaf: {"sequence": 99}}.get(
        model, {"event_code": "accounts.logout"}
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        model.objects.update(**change)


@pytest.mark.parametrize(
    ("_case", "table"),
    [
        ("events", "audit_auditevent"),
        ("patients", "audit_auditeventpatient"),
        ("leaves", "audit_sealedleaf"),
        ("tree_heads", "audit_treehead"),
    ],
)
def test_raw_delete_is_refused_by_the_database(sealed, _case, table):
    before = AuditEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608  (constant table names)
    assert AuditEvent.objects.count() == before


def test_delete_is_allowed_only_while_a_purge_permit_is_held(sealed):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO audit_purge_permit (token) VALUES ('test')")
            cursor.execute("DELETE FROM audit_treehead")
            cursor.execute("DELETE FROM audit_purge_permit")
        assert TreeHead.objects.count() == 0
        transaction.set_rollback(True)
    assert TreeHead.objects.count() == 1


def test_frozen_migration_sql_matches_the_trigger_module():
    """Changing audit/triggers.py needs a new migration; this catches forgetting it. The
    newest migration that installs triggers must hold exactly what the module generates."""
    import importlib
    from pathlib import Path

    from phiwarden.audit import migrations
    from phiwarden.audit.triggers import install_sql

    newest = sorted(p.stem for p in Path(migrations.__path__[0]).glob("0*_*triggers*.py"))[-1]
    migration = importlib.import_module(f"phiwarden.audit.migrations.{newest}")
    assert {v: install_sql(v) for v in ("postgresql", "sqlite")} == migration.INSTALL


def test_patient_rows_keep_their_triggers_and_only_the_composite_indexes(db):
    """Migration 0010 drops the two single-column indexes by name: the table is not rebuilt
    (a rebuild on SQLite would lose the append-only triggers tested above), and look-ups
    by event or organization are served by the composite indexes that start with them."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "audit_auditeventpatient")
    indexed = sorted(
        tuple(c["columns"])
        for c in constraints.values()
        if (c["index"] or c["unique"]) and not c["primary_key"] and not c["foreign_key"]
    )
    assert indexed == [
        ("event_id", "patient_id"),
        ("organization_id", "patient_id", "event_id"),
    ]
