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

import json
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import TextField
from django.db.models.expressions import RawSQL
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


# A key row as loaded: (state or INDEX, key id, wrapped bytes, id of the wrapping master key).
_KeyRow = tuple[str, str, bytes, str]
# What a cached cipher was built from: the configured master key ids and every key row.
_Fingerprint = tuple[tuple[str, ...], tuple[_KeyRow, ...]]

CIPHER_CACHE_SECONDS = 60.0
CIPHER_CACHE_SIZE = 256
_cipher_cache: OrderedDict[int, tuple[_Fingerprint, float, OrganizationCipher]] = OrderedDict()
_cipher_cache_lock = threading.Lock()


def cipher_cache_clear(organization_id: int | None = None) -> None:
    """Forget the unwrapped keys of one organization (or of all). The rotation services call
    this; the test suite calls it around every test."""
    with _cipher_cache_lock:
        if organization_id is None:
            _cipher_cache.clear()
        else:
            _cipher_cache.pop(organization_id, None)


class KeyRows:
    """The organization's key rows read inside another query (`key_rows_expression`), so a
    hot read that already makes one round trip for its data does not make another for the
    keys. Same rows, same check as `cipher_for`'s own query, read in the same statement as
    the data they decrypt."""

    def __init__(self, value: Any) -> None:
        data = json.loads(value) if isinstance(value, str | bytes) else value
        self.rows: tuple[_KeyRow, ...] = tuple(
            sorted((str(k), str(i), bytes.fromhex(w), str(m)) for k, i, w, m in data or ())
        )


def key_rows_expression(organization_id: Any) -> RawSQL:
    """A scalar subquery giving the organization's key rows as a JSON array, to annotate
    onto a query (`KeyRows(row.annotation)` reads it back). `organization_id` is a value
    or a compiled query's placeholder, passed as a parameter."""
    using = router.db_for_read(DataKey)
    connection = connections[using]
    quote = connection.ops.quote_name
    data, index = quote(DataKey._meta.db_table), quote(IndexKey._meta.db_table)
    if connection.vendor == "postgresql":
        row, hex_key = "json_agg(json_build_array({}))", "encode(k.wrapped_key, 'hex')"
    else:
        row, hex_key = "json_group_array(json_array({}))", "hex(k.wrapped_key)"
    columns = f"k.state, k.key_id, {hex_key}, k.master_key_id"
    # Only quoted table names from model meta are interpolated; values are parameters.
    sql = (
        f"SELECT {row.format(columns)} FROM ("  # noqa: S608
        f"SELECT state, key_id, wrapped_key, master_key_id FROM {data}"
        " WHERE organization_id = %s UNION ALL"
        f" SELECT '{INDEX}', key_id, wrapped_key, master_key_id FROM {index}"
        " WHERE organization_id = %s) k"
    )
    return RawSQL(sql, [organization_id, organization_id], output_field=TextField())  # noqa: S611


def cipher_for(
    organization: Organization, *, key_rows: KeyRows | None = None
) -> OrganizationCipher:
    """The organization's cipher: its active data key for new values, every older key for
    old ones, and its blind-index secret. Keys are made on first use. Raises
    keys.MasterKeyError (fail closed) when the configured master key cannot open them.

    Unwrapping the keys (AES-GCM under the master key, then HKDF) costs more than the rest
    of a typical PHI read, so an unwrapped cipher is kept in this process's memory for at
    most CIPHER_CACHE_SECONDS after it was made (dropped at the process's next call after
    that), for at most CIPHER_CACHE_SIZE organizations (oldest dropped first). It is reused
    only while the organization's key rows (state, key id, wrapped bytes, wrapping master
    key) and the configured master key ids are exactly those it was built from: the rows
    are read on every call (one query, or none when the caller read them with its own data
    through `key_rows_expression` and passes `key_rows`), so a new data key, a finished
    rotation, a re-wrap or a changed or removed master key takes effect on the next call
    in every process, and a wrong master key still fails closed. The
    trade-off (docs/threat-model.md, residual risks, "Key material in memory"): plaintext
    data and index keys stay in the worker's memory between requests, never on disk, in
    the shared cache or in the database; whoever can read a worker's memory can already
    read the master key there.
    """
    masters = tuple(sorted(keys.master_keys()))
    rows = key_rows.rows if key_rows is not None else ()
    if not _complete(rows):
        rows = _key_rows(organization)
    if not _complete(rows):
        _provision(organization)
        rows = _key_rows(organization)
        if not _complete(rows):  # pragma: no cover - provisioning guarantees both keys
            raise crypto.CryptoError("organization keys could not be provisioned")
    fingerprint: _Fingerprint = (masters, rows)
    now = time.monotonic()
    with _cipher_cache_lock:
        _drop_expired(now)
        cached = _cipher_cache.get(organization.pk)
        if cached is not None and cached[0] == fingerprint:
            return cached[2]
    cipher = _build(organization.pk, rows)
    # Unwrap the active key now, so a wrong master key fails here and not halfway through.
    cipher.data_key(cipher.key_id)
    with _cipher_cache_lock:
        _cipher_cache.pop(organization.pk, None)  # re-inserted last: oldest stay first
        _cipher_cache[organization.pk] = (fingerprint, now + CIPHER_CACHE_SECONDS, cipher)
        while len(_cipher_cache) > CIPHER_CACHE_SIZE:
            _cipher_cache.popitem(last=False)
    return cipher


def _drop_expired(now: float) -> None:
    """Entries are kept in the order they were made, so the expired ones are in front."""
    while _cipher_cache:
        organization_id, (_fingerprint, expires, _cipher) = next(iter(_cipher_cache.items()))
        if expires > now:
            return
        del _cipher_cache[organization_id]


def _key_rows(organization: Organization) -> tuple[_KeyRow, ...]:
    """Every data key and the index key of the organization, in one query, sorted. Plain
    SQL: it runs on every PHI read, and the ORM took longer to build this UNION than the
    database took to answer it. Only table names from model meta are interpolated."""
    using = router.db_for_read(DataKey)
    quote = connections[using].ops.quote_name
    data, index = quote(DataKey._meta.db_table), quote(IndexKey._meta.db_table)
    sql = (
        f"SELECT state, key_id, wrapped_key, master_key_id FROM {data}"  # noqa: S608
        " WHERE organization_id = %s UNION ALL"
        f" SELECT '{INDEX}', key_id, wrapped_key, master_key_id FROM {index}"
        " WHERE organization_id = %s"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [organization.pk, organization.pk])
        rows = cursor.fetchall()
    return tuple(sorted((str(k), str(i), bytes(w), str(m)) for k, i, w, m in rows))


def _complete(rows: tuple[_KeyRow, ...]) -> bool:
    kinds = [row[0] for row in rows]
    return DataKey.State.ACTIVE in kinds and INDEX in kinds


def _build(organization_id: int, rows: tuple[_KeyRow, ...]) -> OrganizationCipher:
    data = {key_id: _StoredKey(key_id, w, m) for kind, key_id, w, m in rows if kind != INDEX}
    index = next(_StoredKey(key_id, w, m) for kind, key_id, w, m in rows if kind == INDEX)
    active = next(key_id for kind, key_id, _w, _m in rows if kind == DataKey.State.ACTIVE)
    return OrganizationCipher(
        organization_id=organization_id, key_id=active, _data_keys=data, _index_key=index
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
    cipher_cache_clear(organization.pk)  # the rows changed anyway; do not wait for the check
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
        cipher_cache_clear(organization_id)
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
