"""Drop the single-column indexes on audit_auditeventpatient's two keys.

audit_patient_unique (event_id, patient_id) and audit_patient_idx (organization_id,
patient_id, event_id) already serve look-ups by event and by organization, and every
audited read inserts rows here. The indexes are dropped by name rather than through
AlterField, which would rebuild the table on SQLite (losing its append-only triggers,
audit/triggers.py) and drop and re-validate the foreign keys on PostgreSQL.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = (
    ("audit_auditeventpatient_event_id_381ad039", "event_id"),
    ("audit_auditeventpatient_organization_id_f5a0dc59", "organization_id"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("audit", "0009_pending_seal_triggers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditeventpatient",
                    name="event",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="patients",
                        to="audit.auditevent",
                    ),
                ),
                migrations.AlterField(
                    model_name="auditeventpatient",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "audit_auditeventpatient" ("{column}")',
                )
                for name, column in INDEXES
            ],
        ),
    ]
