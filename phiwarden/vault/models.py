"""Keys and encrypted files. Key material is stored only wrapped by the master key.

docs/adr/0005-field-encryption.md explains the envelope; docs/operations/keys.md how
operators rotate and back up the keys.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from phiwarden.core.models import OrganizationScopedQuerySet


class DataKey(models.Model):
    """One organization's AES-256 key for its PHI fields and files, wrapped by the master key.

    Exactly one key per organization is ACTIVE (it encrypts new values). After a rotation
    starts, the old key is RETIRING until every registered row and file has moved to the
    new key, then RETIRED. Retired keys are kept so that backups stay readable.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active: encrypts new values"
        RETIRING = "retiring", "Retiring: rows are being re-encrypted off it"
        RETIRED = "retired", "Retired: decrypts old copies only"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="data_keys"
    )
    key_id = models.CharField(max_length=64, unique=True)
    wrapped_key = models.BinaryField()
    master_key_id = models.CharField(
        max_length=32, help_text="Fingerprint of the master key that wrapped this key."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedQuerySet["DataKey"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(state="active"),
                name="vault_one_active_data_key_per_org",
            ),
        ]
        ordering = ["organization_id", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.get_state_display()})"


class IndexKey(models.Model):
    """One organization's blind-index secret, wrapped by the master key.

    It never changes when the data key rotates, so blind-index columns stay valid (and
    searchable) during and after a data-key rotation; each index derives its own key
    from this secret with HKDF.
    """

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="index_key"
    )
    key_id = models.CharField(max_length=64, unique=True)
    wrapped_key = models.BinaryField()
    master_key_id = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationScopedQuerySet["IndexKey"].as_manager()

    def __str__(self) -> str:
        return self.key_id


class EncryptedBlob(models.Model):
    """An encrypted file: an original X12 file, a signed BAA, a breach patient list.

    The ciphertext lives in the `phi_blobs` storage; this row holds what is needed to find,
    open and check it. The file name is encrypted (names can hold PHI); `sha256` is of the
    plaintext, so a caller can tell whether the same file was already stored.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="encrypted_blobs"
    )
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    purpose = models.CharField(max_length=64)
    filename_ciphertext = models.BinaryField()
    content_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    key_id = models.CharField(max_length=64, db_index=True)
    storage_name = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = OrganizationScopedQuerySet["EncryptedBlob"].as_manager()

    class Meta:
        ordering = ["organization_id", "pk"]

    def __str__(self) -> str:
        return f"{self.purpose} file {self.row_key}"
