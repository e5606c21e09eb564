"""Field encryption for one organization, and the services that create and rotate its keys.

Callers (billing, partners) encrypt each PHI column with `cipher_for(organization)`::

    cipher = cipher_for(patient.organization)
    patient.name_ciphertext = cipher.encrypt_text(
        name, table=registry.table_name(Patient), column="name_ciphertext", row_key=patient.row_key
    )
    patient.member_id_index = cipher.blind_index("billing.patient.member_id",
                                                 normalize_identifier(member_id))

`row_key` is a random UUID the caller gives each row before it is saved. The table is the
model's `db_table` (`registry.table_name`), so that `rotate_keys` can re-encrypt the rows
with the same associated data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from phiwarden.accounts.models import Organization
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.core import crypto
from phiwarden.vault import keys
from phiwarden.vault.models import DataKey, IndexKey

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from phiwarden.accounts.models import User

    Actor = User | AnonymousUser | None

DATA = "data"
INDEX = "index"
_FIELD_INFO = b"phiwarden.field-key.v1"
_BLIND_INDEX_INFO = b"phiwarden.blind-index.v1\x00"
MAX_INDEX_NAME = 100

RowKey = str | uuid.UUID
Token = bytes | bytearray | memoryview


class UnknownKeyError(crypto.DecryptionError):
    """A ciphertext names a key this organization does not have."""


def _row_key_text(row_key: RowKey) -> str:
    if isinstance(row_key, uuid.UUID):
        return str(row_key)
    if not row_key:
        raise crypto.CryptoError("row_key is required")
    return str(row_key).lower()


@dataclass
class _StoredKey:
    key_id: str
    wrapped: bytes
    wrapped_by: str
    plain: bytes | None = None


@dataclass
class OrganizationCipher:
    """Encrypts and decrypts one organization's values: new values under the active data key,
    old values under whichever key their header names (active, retiring or retired)."""

    organization_id: int
    key_id: str  # of the active data key
    _data_keys: dict[str, _StoredKey] = field(repr=False)
    _index_key: _StoredKey = field(repr=False)
    _field_keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    _blind_index_keys: dict[str, bytes] = field(default_factory=dict, repr=False)

    # --- Keys --------------------------------------------------------------

    def _unwrap(self, kind: str, stored: _StoredKey) -> bytes:
        if stored.plain is None:
            stored.plain = keys.unwrap(
                kind=kind,
                organization_id=self.organization_id,
                key_id=stored.key_id,
                wrapped=stored.wrapped,
                wrapped_by=stored.wrapped_by,
            )
        return stored.plain

    def data_key(self, key_id: str) -> bytes:
        """The raw data key named `key_id` (for the blob format, which derives per-file keys)."""
        stored = self._data_keys.get(key_id)
        if stored is None:
            raise UnknownKeyError("ciphertext names a data key this organization does not have")
        return self._unwrap(DATA, stored)

    def _field_key(self, key_id: str) -> bytes:
        if key_id not in self._field_keys:
            self._field_keys[key_id] = crypto.derive_key(self.data_key(key_id), info=_FIELD_INFO)
        return self._field_keys[key_id]

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._data_keys)

    # --- Fields ------------------------------------------------------------

    def encrypt_bytes(self, value: bytes, *, table: str, column: str, row_key: RowKey) -> bytes:
        associated = crypto.field_associated_data(
            table=table, column=column, row_key=_row_key_text(row_key)
        )
        return crypto.seal(self._field_key(self.key_id), self.key_id, bytes(value), associated)

    def decrypt_bytes(self, token: Token, *, table: str, column: str, row_key: RowKey) -> bytes:
        data = bytes(token)
        header = crypto.token_header(data)
        associated = crypto.field_associated_data(
            table=table, column=column, row_key=_row_key_text(row_key)
        )
        return crypto.open_sealed(self._field_key(header.key_id), data, associated)

    def encrypt_text(self, value: str, *, table: str, column: str, row_key: RowKey) -> bytes:
        return self.encrypt_bytes(
            value.encode("utf-8"), table=table, column=column, row_key=row_key
        )

    def decrypt_text(self, token: Token, *, table: str, column: str, row_key: RowKey) -> str:
        plain = self.decrypt_bytes(token, table=table, column=column, row_key=row_key)
        return plain.decode("utf-8")

    def reencrypt(self, token: Token, *, table: str, column: str, row_key: RowKey) -> bytes:
        """The same value under the active key (used by rotation)."""
        plain = self.decrypt_bytes(token, table=table, column=column, row_key=row_key)
        return self.encrypt_bytes(plain, table=table, column=column, row_key=row_key)

    # --- Blind indexes -----------------------------------------------------

    def blind_index(self, index: str, value: str) -> str:
        """Keyed HMAC-SHA256 of a normalized value, truncated (16 hex characters), under a key
        of its own for each `index` name (e.g. "billing.patient.member_id"), so equal values
        in two different indexes do not match. Pass values through the normalizers in
        `phiwarden.core.crypto` first."""
        if not index or len(index) > MAX_INDEX_NAME or not index.isascii():
            raise crypto.CryptoError("an index name is 1-100 ASCII characters")
        if index not in self._blind_index_keys:
            secret = self._unwrap(INDEX, self._index_key)
            self._blind_index_keys[index] = crypto.derive_key(
                secret, info=_BLIND_INDEX_INFO + index.encode("ascii")
            )
        return crypto.blind_index(self._blind_index_keys[index], value)


def token_key_id(token: Token) -> str:
    """The id of the data key that sealed a field token, read from its header."""
    return crypto.token_header(bytes(token)).key_id


# --- Loading and provisioning ---------------------------------------------


def _stored(row: DataKey | IndexKey) -> _StoredKey:
    return _StoredKey(
        key_id=row.key_id, wrapped=bytes(row.wrapped_key), wrapped_by=row.master_key_id
    )


def cipher_for(organization: Organization) -> OrganizationCipher:
    """The organization's cipher: its active data key for new values, every older key for
    old ones, and its blind-index secret. Keys are made on first use. Raises
    keys.MasterKeyError (fail closed) when the configured master key cannot open them."""
    cipher = _load(organization)
    if cipher is None:
        _provision(organization)
        cipher = _load(organization)
        if cipher is None:  # pragma: no cover - provisioning guarantees both keys
            raise crypto.CryptoError("organization keys could not be provisioned")
    # Unwrap the active key now, so a wrong master key fails here and not halfway through.
    cipher.data_key(cipher.key_id)
    return cipher


def _load(organization: Organization) -> OrganizationCipher | None:
    rows = list(DataKey.objects.for_organization(organization))
    index = IndexKey.objects.for_organization(organization).first()
    active = [row for row in rows if row.state == DataKey.State.ACTIVE]
    if not active or index is None:
        return None
    return OrganizationCipher(
        organization_id=organization.pk,
        key_id=active[0].key_id,
        _data_keys={row.key_id: _stored(row) for row in rows},
        _index_key=_stored(index),
    )


def _new_data_key(organization: Organization) -> DataKey:
    key_id = crypto.new_key_id("dk")
    wrapped, master_id = keys.wrap(
        kind=DATA, organization_id=organization.pk, key_id=key_id, key=crypto.new_key()
    )
    return DataKey.objects.create(
        organization=organization, key_id=key_id, wrapped_key=wrapped, master_key_id=master_id
    )


def _provision(organization: Organization) -> None:
    """Make the first data key and the index secret. Two processes may race here: the
    unique constraints let one win, and the loser reads the winner's keys."""
    try:
        with transaction.atomic():
            if not IndexKey.objects.for_organization(organization).exists():
                key_id = crypto.new_key_id("ix")
                wrapped, master_id = keys.wrap(
                    kind=INDEX, organization_id=organization.pk, key_id=key_id, key=crypto.new_key()
                )
                IndexKey.objects.create(
                    organization=organization,
                    key_id=key_id,
                    wrapped_key=wrapped,
                    master_key_id=master_id,
                )
            active = DataKey.objects.for_organization(organization).filter(
                state=DataKey.State.ACTIVE
            )
            if not active.exists():
                data_key = _new_data_key(organization)
                audit_event_record(
                    actor=None,
                    organization=organization,
                    event_code=EventCode.VAULT_DATA_KEY_CREATED,
                    target=data_key,
                    data={"key_id": data_key.key_id, "reason": "first use"},
                )
    except IntegrityError:
        pass  # another process provisioned the same organization first


# --- Rotation and re-wrapping ---------------------------------------------


def data_key_rotate(*, organization: Organization, actor: Actor) -> DataKey:
    """Start a data-key rotation: the active key becomes RETIRING (it still decrypts) and a
    new key becomes ACTIVE. `rotation.reencrypt_organization` then moves every registered
    row and file to the new key and marks the old one RETIRED."""
    cipher_for(organization)  # provisions, and proves the master key opens the keys
    with transaction.atomic():
        old = (
            DataKey.objects.select_for_update()
            .for_organization(organization)
            .get(state=DataKey.State.ACTIVE)
        )
        old.state = DataKey.State.RETIRING
        old.retired_at = timezone.now()
        old.save(update_fields=["state", "retired_at"])
        new = _new_data_key(organization)
        audit_event_record(
            actor=actor,
            organization=organization,
            event_code=EventCode.VAULT_DATA_KEY_CREATED,
            target=new,
            data={"key_id": new.key_id, "replaces": old.key_id, "reason": "rotation"},
        )
    return new


@dataclass(frozen=True)
class RewrapResult:
    data_keys: int
    index_keys: int


def keys_rewrap(*, actor: Actor) -> RewrapResult:
    """Re-wrap every data and index key not yet under the current master key (run after the
    operator moved the old master key to PHI_MASTER_KEY_PREVIOUS). One transaction and one
    audit event per organization; re-running skips keys already re-wrapped."""
    current = keys.current_master_key()
    pending: dict[int, tuple[list[DataKey], list[IndexKey]]] = {}
    for data_row in DataKey.objects.exclude(master_key_id=current.key_id):
        pending.setdefault(data_row.organization_id, ([], []))[0].append(data_row)
    for index_row in IndexKey.objects.exclude(master_key_id=current.key_id):
        pending.setdefault(index_row.organization_id, ([], []))[1].append(index_row)
    data_count = index_count = 0
    for organization_id, (data_rows, index_rows) in sorted(pending.items()):
        with transaction.atomic():
            for kind, rows in ((DATA, data_rows), (INDEX, index_rows)):
                for row in rows:
                    _rewrap_row(kind, row)
            audit_event_record(
                actor=actor,
                organization=Organization.objects.get(pk=organization_id),
                event_code=EventCode.VAULT_KEYS_REWRAPPED,
                data={
                    "data_keys": [row.key_id for row in data_rows],
                    "index_keys": [row.key_id for row in index_rows],
                    "master_key_id": current.key_id,
                },
            )
        data_count += len(data_rows)
        index_count += len(index_rows)
    return RewrapResult(data_keys=data_count, index_keys=index_count)


def _rewrap_row(kind: str, row: DataKey | IndexKey) -> None:
    plain = keys.unwrap(
        kind=kind,
        organization_id=row.organization_id,
        key_id=row.key_id,
        wrapped=bytes(row.wrapped_key),
        wrapped_by=row.master_key_id,
    )
    row.wrapped_key, row.master_key_id = keys.wrap(
        kind=kind, organization_id=row.organization_id, key_id=row.key_id, key=plain
    )
    row.save(update_fields=["wrapped_key", "master_key_id"])
