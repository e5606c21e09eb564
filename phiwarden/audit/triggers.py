"""Database triggers that make the audit tables append-only (45 CFR 164.312(b), 164.316(b)(2)).

UPDATE is always refused. DELETE is refused unless the deleting transaction holds a row
in `audit_purge_permit` — the retention purge inserts one, deletes the archived range,
leaves a signed purge record, and removes the permit before committing. The permit table
is not a Django model, so nothing in the ORM can write it by accident.

The triggers stop the application and its users; they do not stop a database owner who
drops them. The signed tree heads sent outside the database catch that case.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

# S608 below: every name in these statements is a constant of this module, never input.

PROTECTED_TABLES = (
    "audit_auditevent",
    "audit_auditeventpatient",
    "audit_sealedleaf",
    "audit_treehead",
    "audit_auditreview",
    "audit_verificationrun",
    "audit_purgerecord",
)
PERMIT_TABLE = "audit_purge_permit"
MESSAGE = "audit tables are append-only"
# Every new event gets its pending-seal marker from the database itself, in the inserting
# statement: the writer sends one statement per event instead of two, and no code path can
# write an event that the sealer would not find (INSTALLATION_LOG is 0: models.log_id_for).
PENDING_TRIGGER = "audit_auditevent_pending_seal"
_PG_PENDING_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_mark_pending() RETURNS trigger AS $$
BEGIN
    INSERT INTO audit_pendingseal (event_id, log_id)
    VALUES (NEW.id, COALESCE(NEW.organization_id, 0));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM {PERMIT_TABLE}) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = '{MESSAGE} (' || TG_OP || ' on ' || TG_TABLE_NAME || ')',
        ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
"""  # noqa: S608


def _trigger_names(table: str) -> tuple[str, str]:
    return f"{table}_no_update", f"{table}_no_delete"


def install_sql(vendor: str) -> list[str]:
    statements = [f"CREATE TABLE IF NOT EXISTS {PERMIT_TABLE} (token varchar(64) PRIMARY KEY)"]
    if vendor == "postgresql":
        statements.append(_PG_FUNCTION)
        for table in PROTECTED_TABLES:
            no_update, _ = _trigger_names(table)
            statements.append(
                f"CREATE OR REPLACE TRIGGER {no_update} BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
        statements += [
            _PG_PENDING_FUNCTION,
            f"CREATE OR REPLACE TRIGGER {PENDING_TRIGGER} AFTER INSERT ON audit_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION audit_mark_pending()",
        ]
        return statements
    if vendor == "sqlite":
        for table in PROTECTED_TABLES:
            no_update, no_delete = _trigger_names(table)
            statements += [
                f"CREATE TRIGGER IF NOT EXISTS {no_update} BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
                f"CREATE TRIGGER IF NOT EXISTS {no_delete} BEFORE DELETE ON {table} "  # noqa: S608
                f"WHEN NOT EXISTS (SELECT 1 FROM {PERMIT_TABLE}) "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
            ]
        statements.append(
            f"CREATE TRIGGER IF NOT EXISTS {PENDING_TRIGGER} AFTER INSERT ON audit_auditevent "  # noqa: S608
            "BEGIN INSERT INTO audit_pendingseal (event_id, log_id) "
            "VALUES (NEW.id, COALESCE(NEW.organization_id, 0)); END"
        )
        return statements
    raise NotImplementedError(f"append-only triggers are not written for {vendor}")


def remove_sql(vendor: str) -> list[str]:
    """Drop every trigger of this module (what a database owner could do)."""
    statements: list[str] = [
        f"DROP TRIGGER IF EXISTS {PENDING_TRIGGER}"
        + (" ON audit_auditevent" if vendor == "postgresql" else "")
    ]
    for table in PROTECTED_TABLES:
        no_update, no_delete = _trigger_names(table)
        if vendor == "postgresql":
            statements.append(f"DROP TRIGGER IF EXISTS {no_update} ON {table}")
        else:
            statements += [
                f"DROP TRIGGER IF EXISTS {no_update}",
                f"DROP TRIGGER IF EXISTS {no_delete}",
            ]
    return statements


def install(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for statement in install_sql(connection.vendor):
            cursor.execute(statement)


def remove(connection: BaseDatabaseWrapper) -> None:
    """Only for test teardown of transactional tests, which must empty every table."""
    with connection.cursor() as cursor:
        for statement in remove_sql(connection.vendor):
            cursor.execute(statement)


def installed(connection: BaseDatabaseWrapper) -> bool:
    first = _trigger_names(PROTECTED_TABLES[0])[0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", [first])
        else:
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [first]
            )
        return cursor.fetchone() is not None
