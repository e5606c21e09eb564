"""Operators may see which keys exist and their state; never key material, never file names."""

from __future__ import annotations

from django.contrib import admin

from phiwarden.core.admin import ReadOnlyAdmin
from phiwarden.vault.models import DataKey, EncryptedBlob, IndexKey

_DATA_KEY_FIELDS = ("key_id", "organization", "state", "master_key_id", "created_at", "retired_at")
_INDEX_KEY_FIELDS = ("key_id", "organization", "master_key_id", "created_at")
_BLOB_FIELDS = (
    "row_key",
    "organization",
    "purpose",
    "content_type",
    "size",
    "key_id",
    "created_at",
    "created_by",
)


@admin.register(DataKey)
class DataKeyAdmin(ReadOnlyAdmin):
    list_display = _DATA_KEY_FIELDS
    list_filter = ("state",)
    fields = _DATA_KEY_FIELDS
    readonly_fields = _DATA_KEY_FIELDS


@admin.register(IndexKey)
class IndexKeyAdmin(ReadOnlyAdmin):
    list_display = _INDEX_KEY_FIELDS
    fields = _INDEX_KEY_FIELDS
    readonly_fields = _INDEX_KEY_FIELDS


@admin.register(EncryptedBlob)
class EncryptedBlobAdmin(ReadOnlyAdmin):
    list_display = _BLOB_FIELDS[:6]
    list_filter = ("purpose",)
    fields = _BLOB_FIELDS
    readonly_fields = _BLOB_FIELDS
