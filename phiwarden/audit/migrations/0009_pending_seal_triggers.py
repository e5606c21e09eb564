"""Pending-seal markers written by a trigger on each new audit event.

Frozen copy of the SQL that phiwarden/audit/triggers.py generated when this migration was
written (the append-only triggers again, all idempotent, plus the pending-seal trigger).
"""

from django.db import migrations

INSTALL = {
    "postgresql": ['CREATE TABLE IF NOT EXISTS audit_purge_permit (token varchar(64) PRIMARY KEY)', "\nCREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$\nBEGIN\n    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM audit_purge_permit) THEN\n        RETURN OLD;\n    END IF;\n    RAISE EXCEPTION USING\n        MESSAGE = 'audit tables are append-only (' || TG_OP || ' on ' || TG_TABLE_NAME || ')',\n        ERRCODE = 'insufficient_privilege';\nEND\n$$ LANGUAGE plpgsql;\n", 'CREATE OR REPLACE TRIGGER audit_auditevent_no_update BEFORE UPDATE OR DELETE ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()', 'CREATE OR REPLACE TRIGGER audit_auditeventpatient_no_update BEFORE UPDATE OR DELETE ON audit_auditeventpatient FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()', 'CREATE OR REPLACE TRIGGER audit_sealedleaf_no_update BEFORE UPDATE OR DELETE ON audit_sealedleaf FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()', 'CREATE OR REPLACE TRIGGER audit_treehead_no_update BEFORE UPDATE OR DELETE ON audit_treehead FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()', 'CREATE OR REPLACE TRIGGER audit_auditreview_no_update BEFORE UPDATE OR DELETE ON audit_auditreview FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()', 'CREATE OR REPLACE TRIGGER audit_verificationrun_no_update BEFORE UPDATE OR DELETE ON audit_verificationrun FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()', 'CREATE OR REPLACE TRIGGER audit_purgerecord_no_update BEFORE UPDATE OR DELETE ON audit_purgerecord FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()', '\nCREATE OR REPLACE FUNCTION audit_mark_pending() RETURNS trigger AS $$\nBEGIN\n    INSERT INTO audit_pendingseal (event_id, log_id)\n    VALUES (NEW.id, COALESCE(NEW.organization_id, 0));\n    RETURN NULL;\nEND\n$$ LANGUAGE plpgsql;\n', 'CREATE OR REPLACE TRIGGER audit_auditevent_pending_seal AFTER INSERT ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION audit_mark_pending()'],
    "sqlite": ['CREATE TABLE IF NOT EXISTS audit_purge_permit (token varchar(64) PRIMARY KEY)', "CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit) BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_auditeventpatient_no_update BEFORE UPDATE ON audit_auditeventpatient BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_auditeventpatient_no_delete BEFORE DELETE ON audit_auditeventpatient WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit) BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_sealedleaf_no_update BEFORE UPDATE ON audit_sealedleaf BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_sealedleaf_no_delete BEFORE DELETE ON audit_sealedleaf WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit) BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_treehead_no_update BEFORE UPDATE ON audit_treehead BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_treehead_no_delete BEFORE DELETE ON audit_treehead WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit) BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_auditreview_no_update BEFORE UPDATE ON audit_auditreview BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_auditreview_no_delete BEFORE DELETE ON audit_auditreview WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit) BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_verificationrun_no_update BEFORE UPDATE ON audit_verificationrun BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_verificationrun_no_delete BEFORE DELETE ON audit_verificationrun WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit) BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_purgerecord_no_update BEFORE UPDATE ON audit_purgerecord BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", "CREATE TRIGGER IF NOT EXISTS audit_purgerecord_no_delete BEFORE DELETE ON audit_purgerecord WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit) BEGIN SELECT RAISE(ABORT, 'audit tables are append-only'); END", 'CREATE TRIGGER IF NOT EXISTS audit_auditevent_pending_seal AFTER INSERT ON audit_auditevent BEGIN INSERT INTO audit_pendingseal (event_id, log_id) VALUES (NEW.id, COALESCE(NEW.organization_id, 0)); END'],
}
REMOVE = {
    "postgresql": ["DROP TRIGGER IF EXISTS audit_auditevent_pending_seal ON audit_auditevent"],
    "sqlite": ["DROP TRIGGER IF EXISTS audit_auditevent_pending_seal"],
}


def install(apps, schema_editor):
    for statement in INSTALL[schema_editor.connection.vendor]:
        schema_editor.execute(statement)


def remove(apps, schema_editor):
    for statement in REMOVE[schema_editor.connection.vendor]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("audit", "0008_fewer_indexes_per_event")]

    operations = [migrations.RunPython(install, remove)]
