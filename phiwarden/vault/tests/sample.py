"""A stand-in for a billing model with encrypted columns, so the vault is tested on its own.

Not managed by migrations: `conftest.sample_table` creates the table inside each test's
transaction, and the rollback removes it.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.db import models


class SampleRecord(models.Model):
    """A synthetic record with two encrypted columns and a blind index."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    row_key = models.UUIDField(default=uuid.uuid4, unique=True)
    name_ciphertext = models.BinaryField()
    note_ciphertext = models.BinaryField(null=True)
    member_id_index = models.CharField(max_length=32, blank=True)

    objects: ClassVar[models.Manager[SampleRecord]] = models.Manager()

    class Meta:
        app_label = "vault"
        managed = False
        db_table = "vault_test_sample_record"

    def __str__(self) -> str:
        return str(self.row_key)
