"""Encrypted files: streamed in chunks, authenticated chunk by chunk, refused whole when over
the limit. File contents are synthetic bytes."""

from __future__ import annotations

import hashlib
import io
import stat
import tracemalloc

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import InMemoryStorage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent
from phiwarden.core import crypto
from phiwarden.vault import blobs
from phiwarden.vault.blobs import (
    CHUNK_BYTES,
    BlobError,
    BlobIntegrityError,
    BlobTooLarge,
    blob_filename,
    blob_read,
    blob_store,
)
from phiwarden.vault.models import EncryptedBlob
from phiwarden.vault.services import cipher_for

pytestmark = pytest.mark.django_db

BIG = 5 * CHUNK_BYTES + 1234  # six chunks, the last one short


def synthetic_bytes(size: int) -> bytes:
    return (b"SYNTHETIC*X12*SEGMENT~" * (size // 22 + 1))[:size]


def store(organization, payload: bytes, **overrides):
    options = {
        "organization": organization,
        "stream": io.BytesIO(payload),
        "filename": "synthetic-claims.x12",
        "content_type": "application/edi-x12",
        "purpose": "x12",
        **overrides,
    }
    return blob_store(**options)


def header_length(blob: EncryptedBlob) -> int:
    return len(blobs.MAGIC) + 2 + len(blob.key_id) + 4 + blobs.SALT_BYTES


def test_a_file_of_several_chunks_round_trips_in_chunks(organization, blob_dir):
    payload = synthetic_bytes(BIG)

    blob = store(organization, payload)
    pieces = list(blob_read(blob))

    assert b"".join(pieces) == payload
    assert [len(p) for p in pieces] == [CHUNK_BYTES] * 5 + [1234]
    assert blob.size == BIG
    assert blob.sha256 == hashlib.sha256(payload).hexdigest()
    assert blob.key_id == cipher_for(organization).key_id


def test_the_stored_file_is_ciphertext_only_with_mode_600(organization, blob_dir):
    payload = synthetic_bytes(BIG)

    blob = store(organization, payload)

    path = blob_dir / blob.storage_name
    stored = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"SYNTHETIC" not in stored
    assert stored.startswith(b"PWB\x01")
    assert len(stored) == header_length(blob) + BIG + 6 * crypto.TAG_BYTES


def test_the_filename_is_encrypted(organization, blob_dir):
    blob = store(organization, b"synthetic", filename="Synthetic Person 1990-01-01.pdf")

    assert b"Synthetic Person" not in bytes(blob.filename_ciphertext)
    assert blob_filename(EncryptedBlob.objects.get(pk=blob.pk)) == "Synthetic Person 1990-01-01.pdf"


@pytest.mark.parametrize(
    ("_case", "size"),
    [
        ("empty", 0),
        ("one byte", 1),
        ("exactly one chunk", CHUNK_BYTES),
        ("two chunks", 2 * CHUNK_BYTES),
    ],
)
def test_edge_sizes_round_trip(organization, blob_dir, _case, size):
    payload = synthetic_bytes(size)

    blob = store(organization, payload)

    assert b"".join(blob_read(blob)) == payload


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=3 * 1024), read_size=st.integers(min_value=1, max_value=700))
def test_any_stream_round_trips_whatever_size_its_reads_return(organization, payload, read_size):
    """Streams may return fewer bytes than asked; chunks must still be cut exactly."""

    class Trickle(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            return super().read(min(read_size, size if size and size > 0 else read_size))

    with _small_chunks():
        blob = store(organization, b"", stream=Trickle(payload))
        assert b"".join(blob_read(blob)) == payload


class _small_chunks:
    """Shrink the chunk size so small examples span many chunks."""

    def __enter__(self) -> None:
        self.saved = blobs.CHUNK_BYTES
        blobs.CHUNK_BYTES = 256

    def __exit__(self, *exc: object) -> None:
        blobs.CHUNK_BYTES = self.saved


def test_storing_is_audited_without_the_filename(organization, owner, blob_dir):
    blob = store(organization, b"synthetic", actor=owner.user, filename="synthetic-name.pdf")

    event = AuditEvent.objects.get(event_code=EventCode.VAULT_BLOB_STORED)
    assert event.actor == owner.user
    assert event.target_id == str(blob.pk)
    assert event.data == {"purpose": "x12", "size": 9, "key_id": blob.key_id}
    assert blob.created_by == owner.user


# --- Tamper ------------------------------------------------------------------


def rewrite(blob_dir, blob, change) -> None:
    path = blob_dir / blob.storage_name
    path.write_bytes(change(path.read_bytes()))


def records(blob: EncryptedBlob, data: bytes) -> tuple[bytes, list[bytes]]:
    start = header_length(blob)
    size = CHUNK_BYTES + crypto.TAG_BYTES
    return data[:start], [data[i : i + size] for i in range(start, len(data), size)]


def test_a_flipped_byte_is_detected(organization, blob_dir):
    blob = store(organization, synthetic_bytes(BIG))

    def flip(data: bytes) -> bytes:
        return data[:1000] + bytes([data[1000] ^ 1]) + data[1001:]

    rewrite(blob_dir, blob, flip)

    with pytest.raises(BlobIntegrityError):
        b"".join(blob_read(blob))


def test_dropping_the_last_chunks_is_detected(organization, blob_dir):
    blob = store(organization, synthetic_bytes(BIG))

    def truncate(data: bytes) -> bytes:
        header, chunks = records(blob, data)
        return header + b"".join(chunks[:3])  # ends on a chunk boundary

    rewrite(blob_dir, blob, truncate)

    with pytest.raises(BlobIntegrityError):
        b"".join(blob_read(blob))


def test_cutting_the_file_mid_chunk_is_detected(organization, blob_dir):
    blob = store(organization, synthetic_bytes(BIG))
    rewrite(blob_dir, blob, lambda data: data[:-100])

    with pytest.raises(BlobIntegrityError):
        b"".join(blob_read(blob))


def test_reordering_chunks_is_detected(organization, blob_dir):
    blob = store(organization, synthetic_bytes(BIG))

    def swap(data: bytes) -> bytes:
        header, chunks = records(blob, data)
        chunks[1], chunks[2] = chunks[2], chunks[1]
        return header + b"".join(chunks)

    rewrite(blob_dir, blob, swap)

    with pytest.raises(BlobIntegrityError):
        b"".join(blob_read(blob))


def test_a_file_swapped_with_another_blobs_file_is_detected(organization, blob_dir):
    first = store(organization, synthetic_bytes(1000))
    second = store(organization, synthetic_bytes(1000))
    (blob_dir / first.storage_name).write_bytes((blob_dir / second.storage_name).read_bytes())

    with pytest.raises(BlobIntegrityError):
        b"".join(blob_read(first))


def test_a_recorded_hash_that_does_not_match_is_detected(organization, blob_dir):
    blob = store(organization, b"synthetic")
    EncryptedBlob.objects.filter(pk=blob.pk).update(sha256="0" * 64)

    with pytest.raises(BlobIntegrityError, match="SHA-256"):
        b"".join(blob_read(EncryptedBlob.objects.get(pk=blob.pk)))


def test_a_file_that_is_not_ours_is_refused(organization, blob_dir):
    blob = store(organization, b"synthetic")
    rewrite(blob_dir, blob, lambda data: b"%PDF-1.7 not encrypted")

    with pytest.raises(BlobIntegrityError):
        b"".join(blob_read(blob))


# --- Limits --------------------------------------------------------------------


def test_an_oversize_file_is_refused_and_leaves_nothing(organization, owner, blob_dir):
    with pytest.raises(BlobTooLarge, match=f"limit of {3 * CHUNK_BYTES} bytes"):
        store(organization, synthetic_bytes(BIG), max_bytes=3 * CHUNK_BYTES, actor=owner.user)

    assert not EncryptedBlob.objects.exists()
    leftovers = [p for p in blob_dir.rglob("*") if p.is_file()] if blob_dir.exists() else []
    assert leftovers == []
    event = AuditEvent.objects.get(event_code=EventCode.VAULT_BLOB_REFUSED)
    assert event.outcome == Outcome.DENIED
    assert event.data == {"purpose": "x12", "reason": "too large", "max_bytes": 3 * CHUNK_BYTES}


def test_a_file_exactly_at_the_limit_is_stored(organization, blob_dir):
    blob = store(organization, synthetic_bytes(1000), max_bytes=1000)

    assert blob.size == 1000


def test_a_failed_database_write_removes_the_file(organization, blob_dir, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("synthetic database failure")

    monkeypatch.setattr(blobs, "audit_event_record", fail)

    with pytest.raises(RuntimeError):
        store(organization, synthetic_bytes(1000))

    assert [p for p in blob_dir.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("_case", "overrides"),
    [
        ("purpose with spaces", {"purpose": "x12 file"}),
        ("empty content type", {"content_type": ""}),
    ],
)
def test_bad_metadata_is_refused_before_anything_is_written(
    organization, blob_dir, _case, overrides
):
    with pytest.raises(BlobError):
        store(organization, b"synthetic", **overrides)

    assert not blob_dir.exists() or not any(blob_dir.rglob("*"))


def test_memory_stays_flat_for_a_big_file(organization, blob_dir):
    size = 8 * 1024 * 1024

    class Generated(io.RawIOBase):
        """An 8 MiB stream that never exists in memory at once."""

        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            n = self.left if n is None or n < 0 else min(n, self.left)
            self.left -= n
            return b"S" * n

    tracemalloc.start()
    try:
        blob = store(organization, b"", stream=Generated())
        digest = hashlib.sha256()
        for piece in blob_read(blob):
            digest.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest.hexdigest() == blob.sha256
    assert peak < size / 8, f"peak {peak} bytes"


def test_test_settings_without_the_blob_storage_use_the_in_memory_default(organization):
    """config/test_settings replaces STORAGES; other apps' tests still store blobs."""
    assert isinstance(blobs.blob_storage(), InMemoryStorage)

    blob = store(organization, b"synthetic")

    assert b"".join(blob_read(blob)) == b"synthetic"


def test_without_the_blob_storage_a_file_system_default_is_refused(settings, tmp_path):
    """PHI files must never land in an unplanned directory (MEDIA_ROOT defaults to the cwd)."""
    settings.STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }

    with pytest.raises(ImproperlyConfigured, match="phi_blobs"):
        blobs.blob_storage()
