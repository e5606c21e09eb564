"""Which models hold encrypted columns, so that `rotate_keys` can re-encrypt them.

An app registers its models in its `AppConfig.ready()`::

    from phiwarden.vault import registry
    registry.register(Patient, columns=["name_ciphertext", "birth_date_ciphertext"])

Each column holds tokens from `OrganizationCipher.encrypt_text/encrypt_bytes` made with
``table=registry.table_name(Model)``, ``column=<the column's name>`` and
``row_key=<the row's row_key>``; rotation re-encrypts with exactly those values.
Nullable columns may hold None (skipped). Blind-index columns are not registered: the
index secret does not change when the data key rotates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models


@dataclass(frozen=True)
class EncryptedModel:
    model: type[models.Model]
    columns: tuple[str, ...]
    row_key_field: str
    organization_field: str

    @property
    def table(self) -> str:
        return table_name(self.model)

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


_registry: dict[str, EncryptedModel] = {}


def table_name(model: type[models.Model] | models.Model) -> str:
    """The `table` to pass to the cipher for a model's columns: its database table."""
    return model._meta.db_table


def register(
    model: type[models.Model],
    *,
    columns: Sequence[str],
    row_key_field: str = "row_key",
    organization_field: str = "organization",
) -> type[models.Model]:
    """Declare `model`'s encrypted columns. Registering the same model again replaces the
    earlier entry (so `ready()` may run twice in tests)."""
    if not columns:
        raise ImproperlyConfigured(f"{model._meta.label}: register at least one column")
    for name in (*columns, row_key_field, organization_field):
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist as error:
            raise ImproperlyConfigured(f"{model._meta.label} has no field {name!r}") from error
    entry = EncryptedModel(
        model=model,
        columns=tuple(columns),
        row_key_field=row_key_field,
        organization_field=organization_field,
    )
    _registry[entry.label] = entry
    return model


def unregister(model: type[models.Model]) -> None:
    _registry.pop(model._meta.label_lower, None)


def registered() -> list[EncryptedModel]:
    """Every registered model, in a stable order."""
    return [_registry[label] for label in sorted(_registry)]
