"""Encrypted files: original X12 files, signed BAA PDFs, breach patient lists.

Files are encrypted as they stream in, in chunks of 64 KiB, so memory stays flat however
big the file. The format is the STREAM construction (Hoang, Reyhanitabar, Rogaway and
Vizár, 2015) over AES-256-GCM::

    header   b"PWB" | version (1) | n (1) | key id (n) | chunk size (4, big endian) | salt (16)
    chunks   AES-GCM(chunk) || tag (16), every chunk but the last exactly `chunk size` long

Each file gets its own key, HKDF(data key, salt), so the 96-bit nonce can simply be the
chunk index. The associated data of each chunk binds the header, the blob's row key,
the chunk index and a final-chunk flag: reordering, dropping, truncating or moving
chunks to another file makes decryption fail. The plaintext size and SHA-256 are checked
once more at the end.

Ciphertext goes to the `phi_blobs` storage (settings.STORAGES; a directory under VAR_DIR,
files mode 600).
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import InMemoryStorage, Storage, storages
from django.db import transaction

from phiwarden.accounts.models import Organization
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.services import audit_event_record
from phiwarden.core import crypto
from phiwarden.vault.models import EncryptedBlob
from phiwarden.vault.services import OrganizationCipher, cipher_for

if TYPE_CHECKING:
    from phiwarden.vault.services import Actor

STORAGE_ALIAS = "phi_blobs"
CHUNK_BYTES = 64 * 1024
MAGIC = b"PWB"
VERSION = 1
SALT_BYTES = 16
_BLOB_INFO = b"phiwarden.blob.v1"
_PURPOSE = re.compile(r"^[a-z0-9_.-]{1,64}$")
FILENAME_TABLE = EncryptedBlob._meta.db_table
FILENAME_COLUMN = "filename_ciphertext"


class BlobError(crypto.CryptoError):
    """A file could not be stored or read."""


class BlobTooLarge(BlobError):
    """The file is over the caller's size limit; nothing was stored."""


class BlobIntegrityError(crypto.DecryptionError):
    """The stored ciphertext was altered, truncated, reordered or swapped."""


def blob_storage() -> Storage:
    """The `phi_blobs` storage. Test settings that replace STORAGES with an in-memory
    default storage get that one; anything else without the alias is a configuration error
    (PHI files must never land in an unplanned place)."""
    if STORAGE_ALIAS in settings.STORAGES:
        return storages[STORAGE_ALIAS]
    default = storages["default"]
    if isinstance(default, InMemoryStorage):
        return default
    raise ImproperlyConfigured(f"settings.STORAGES needs a {STORAGE_ALIAS!r} entry")


# --- Format ----------------------------------------------------------------


def _header(key_id: str, chunk_size: int, salt: bytes) -> bytes:
    encoded = key_id.encode("ascii")
    return MAGIC + bytes([VERSION, len(encoded)]) + encoded + struct.pack(">I", chunk_size) + salt


def _chunk_associated_data(header: bytes, row_key: str, index: int, *, final: bool) -> bytes:
    return crypto.encode_parts(
        _BLOB_INFO, header, row_key, struct.pack(">QB", index, 1 if final else 0)
    )


def _nonce(index: int) -> bytes:
    return index.to_bytes(crypto.NONCE_BYTES, "big")


def _file_key(data_key: bytes, salt: bytes) -> AESGCM:
    return AESGCM(crypto.derive_key(data_key, info=_BLOB_INFO, salt=salt))


class _Digest:
    """Counts and hashes plaintext as it streams by, refusing more than `limit` bytes."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()

    def feed(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self.size += len(piece)
            if self.limit is not None and self.size > self.limit:
                raise BlobTooLarge(f"file is larger than the limit of {self.limit} bytes")
            self.sha256.update(piece)
            yield piece


def _exact_chunks(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut a stream into pieces of exactly `size`, then one last piece (maybe empty)."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    yield bytes(buffer)


def _encrypt(
    plain: Iterable[bytes], *, data_key: bytes, key_id: str, row_key: str, chunk_size: int
) -> Iterator[bytes]:
    salt = crypto.new_key()[:SALT_BYTES]
    header = _header(key_id, chunk_size, salt)
    aead = _file_key(data_key, salt)
    yield header
    chunks = _exact_chunks(plain, chunk_size)
    previous = next(chunks)
    index = 0
    for current in chunks:
        associated = _chunk_associated_data(header, row_key, index, final=False)
        yield aead.encrypt(_nonce(index), previous, associated)
        previous, index = current, index + 1
    associated = _chunk_associated_data(header, row_key, index, final=True)
    yield aead.encrypt(_nonce(index), previous, associated)


def _read_stream(stream: IO[bytes] | Any, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    while piece := stream.read(size):
        yield piece


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    parts = bytearray()
    while len(parts) < size:
        piece = stream.read(size - len(parts))
        if not piece:
            break
        parts += piece
    return bytes(parts)


def _decrypt(stream: IO[bytes], *, cipher: OrganizationCipher, row_key: str) -> Iterator[bytes]:
    fixed = _read_exact(stream, len(MAGIC) + 2)
    if len(fixed) != len(MAGIC) + 2 or fixed[:3] != MAGIC or fixed[3] != VERSION:
        raise BlobIntegrityError("stored file is not a PHI Warden encrypted file")
    rest = _read_exact(stream, fixed[4] + 4 + SALT_BYTES)
    if len(rest) != fixed[4] + 4 + SALT_BYTES:
        raise BlobIntegrityError("stored file header is truncated")
    header = fixed + rest
    key_id = rest[: fixed[4]].decode("ascii", errors="replace")
    (chunk_size,) = struct.unpack(">I", rest[fixed[4] : fixed[4] + 4])
    if not 0 < chunk_size <= 16 * 1024 * 1024:
        raise BlobIntegrityError("stored file header is malformed")
    aead = _file_key(cipher.data_key(key_id), rest[fixed[4] + 4 :])
    record = chunk_size + crypto.TAG_BYTES
    current = _read_exact(stream, record)
    if not current:
        raise BlobIntegrityError("stored file is truncated")
    index = 0
    while current:
        following = _read_exact(stream, record)
        final = not following
        associated = _chunk_associated_data(header, row_key, index, final=final)
        try:
            yield aead.decrypt(_nonce(index), current, associated)
        except InvalidTag as error:
            raise BlobIntegrityError(
                "stored file failed authentication (tampered, truncated or reordered)"
            ) from error
        current, index = following, index + 1


class _StreamingFile(File):  # type: ignore[type-arg]
    """Hands storage backends the ciphertext chunk by chunk as it is produced."""

    def __init__(self, chunks: Iterator[bytes], name: str) -> None:
        super().__init__(None, name)
        self._chunks = chunks

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self._chunks


def _write(storage: Storage, name: str, chunks: Iterator[bytes]) -> str:
    """Save ciphertext under `name`; on any failure remove whatever part was written."""
    try:
        return storage.save(name, _StreamingFile(chunks, name))
    except BaseException:
        storage.delete(name)
        raise


def _storage_name(organization_id: int) -> str:
    return f"{organization_id}/{uuid.uuid4().hex}.pwb"


# --- Public API ------------------------------------------------------------


def blob_store(
    *,
    organization: Organization,
    stream: IO[bytes],
    filename: str,
    content_type: str,
    purpose: str,
    max_bytes: int | None = None,
    actor: Actor = None,
) -> EncryptedBlob:
    """Encrypt `stream` into the blob storage and record it, with an audit event.

    Over `max_bytes`: raises BlobTooLarge, and no file and no row are left behind. The file
    is written before the row; if the caller's transaction later rolls back, the file is
    an orphan of ciphertext (no key leaks with it).
    """
    if not _PURPOSE.match(purpose):
        raise BlobError("purpose is 1-64 characters of a-z, 0-9, '_', '.', '-'")
    if not content_type or len(content_type) > 255 or not content_type.isascii():
        raise BlobError("content type is 1-255 ASCII characters")
    cipher = cipher_for(organization)
    row_key = str(uuid.uuid4())
    digest = _Digest(max_bytes)
    storage = blob_storage()
    name = _storage_name(organization.pk)
    chunks = _encrypt(
        digest.feed(_read_stream(stream)),
        data_key=cipher.data_key(cipher.key_id),
        key_id=cipher.key_id,
        row_key=row_key,
        chunk_size=CHUNK_BYTES,
    )
    try:
        saved_name = _write(storage, name, chunks)
    except BlobTooLarge:
        audit_event_record(
            actor=actor,
            organization=organization,
            event_code=EventCode.VAULT_BLOB_REFUSED,
            outcome=Outcome.DENIED,
            data={"purpose": purpose, "reason": "too large", "max_bytes": max_bytes},
        )
        raise
    try:
        with transaction.atomic():
            blob = EncryptedBlob.objects.create(
                organization=organization,
                row_key=row_key,
                purpose=purpose,
                filename_ciphertext=cipher.encrypt_text(
                    filename, table=FILENAME_TABLE, column=FILENAME_COLUMN, row_key=row_key
                ),
                content_type=content_type,
                size=digest.size,
                sha256=digest.sha256.hexdigest(),
                key_id=cipher.key_id,
                storage_name=saved_name,
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
            audit_event_record(
                actor=actor,
                organization=organization,
                event_code=EventCode.VAULT_BLOB_STORED,
                target=blob,
                data={"purpose": purpose, "size": digest.size, "key_id": cipher.key_id},
            )
    except BaseException:
        storage.delete(saved_name)
        raise
    return blob


def blob_read(blob: EncryptedBlob) -> Iterator[bytes]:
    """Stream the plaintext of `blob`. Every chunk is authenticated before it is yielded;
    truncation, reordering, a swapped file or a size/SHA-256 mismatch raise
    BlobIntegrityError (at the latest when the last chunk is read). Callers that send the
    bytes on must treat the error as "abort", not as the end of the file."""
    return _blob_plaintext(blob, cipher_for(blob.organization))


def _blob_plaintext(blob: EncryptedBlob, cipher: OrganizationCipher) -> Iterator[bytes]:
    digest = hashlib.sha256()
    size = 0
    with blob_storage().open(blob.storage_name, "rb") as stream:
        for piece in _decrypt(stream, cipher=cipher, row_key=str(blob.row_key)):
            digest.update(piece)
            size += len(piece)
            yield piece
    if size != blob.size or digest.hexdigest() != blob.sha256:
        raise BlobIntegrityError("stored file does not match its recorded size and SHA-256")


def blob_filename(blob: EncryptedBlob) -> str:
    """The original file name (it may hold PHI: show it only through an audited selector)."""
    return cipher_for(blob.organization).decrypt_text(
        blob.filename_ciphertext, table=FILENAME_TABLE, column=FILENAME_COLUMN, row_key=blob.row_key
    )


def blob_reencrypt(blob: EncryptedBlob, cipher: OrganizationCipher) -> str | None:
    """Move `blob` to the cipher's active key: write a new file, point the row at it, and
    delete the old file once the caller's transaction commits. Returns the new storage
    name (the caller deletes it if its transaction rolls back), or None when the blob
    already uses the active key. Run inside a transaction."""
    if blob.key_id == cipher.key_id:
        return None
    storage = blob_storage()
    row_key = str(blob.row_key)
    name = _storage_name(blob.organization_id)
    chunks = _encrypt(
        _blob_plaintext(blob, cipher),
        data_key=cipher.data_key(cipher.key_id),
        key_id=cipher.key_id,
        row_key=row_key,
        chunk_size=CHUNK_BYTES,
    )
    saved_name = _write(storage, name, chunks)
    old_name = blob.storage_name
    blob.filename_ciphertext = cipher.reencrypt(
        blob.filename_ciphertext, table=FILENAME_TABLE, column=FILENAME_COLUMN, row_key=row_key
    )
    blob.key_id = cipher.key_id
    blob.storage_name = saved_name
    blob.save(update_fields=["filename_ciphertext", "key_id", "storage_name"])
    transaction.on_commit(lambda: storage.delete(old_name))
    return saved_name


def blob_discard(blob: EncryptedBlob) -> None:
    """Forget a blob nothing refers to any more (an unsent draft replaced by a new one).

    Only the row goes, inside the caller's transaction; the ciphertext file becomes an
    orphan that `vault_sweep_blobs` deletes after its grace period. Deleting the file here
    could not be undone by a rollback, and the file alone is unreadable without its row's
    key id and row key being known (its data key still protects it)."""
    blob.delete()
