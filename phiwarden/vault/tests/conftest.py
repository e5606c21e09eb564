"""Fixtures for the vault: a blob directory per test, a sample model with encrypted columns,
and helpers that write synthetic rows through the cipher."""

from __future__ import annotations

import base64
import os

import pytest
from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from phiwarden.vault import registry
from phiwarden.vault.services import cipher_for
from phiwarden.vault.tests.sample import SampleRecord

TABLE = registry.table_name(SampleRecord)


def master_key_text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


@pytest.fixture
def blob_dir(tmp_path, settings):
    """Blobs in a directory of this test's own, as in production (FileSystemStorage, mode 600)."""
    directory = tmp_path / "blobs"
    settings.STORAGES = {
        **settings.STORAGES,
        "phi_blobs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": directory,
                "file_permissions_mode": 0o600,
                "directory_permissions_mode": 0o700,
            },
        },
    }
    return directory


@pytest.fixture
def new_master_key():
    return os.urandom(32)


@pytest.fixture
def sample_table(db):
    """Create the sample table in the test's transaction (DDL is transactional on both
    databases) and register the model; both are undone at the end."""
    editor_class: type[BaseDatabaseSchemaEditor] = connection.SchemaEditorClass
    editor = editor_class(connection, collect_sql=True)
    sql, params = editor.table_sql(SampleRecord)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    registry.register(
        SampleRecord, columns=["name_ciphertext", "note_ciphertext"], row_key_field="row_key"
    )
    yield SampleRecord
    registry.unregister(SampleRecord)


@pytest.fixture
def make_record(sample_table):
    def make(organization, name: str, note: str | None = "synthetic note") -> SampleRecord:
        cipher = cipher_for(organization)
        record = SampleRecord(organization=organization)
        record.name_ciphertext = cipher.encrypt_text(
            name, table=TABLE, column="name_ciphertext", row_key=record.row_key
        )
        if note is not None:
            record.note_ciphertext = cipher.encrypt_text(
                note, table=TABLE, column="note_ciphertext", row_key=record.row_key
            )
        record.save()
        return record

    return make


def read_name(record: SampleRecord) -> str:
    record.refresh_from_db()
    return cipher_for(record.organization).decrypt_text(
        record.name_ciphertext, table=TABLE, column="name_ciphertext", row_key=record.row_key
    )
