"""X12 import: all or nothing, idempotent, matched to claims, audited, and refusing bad
files with a reason that names the segment and no value from the file."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied

from phiwarden.accounts.roles import Role
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent, AuditEventPatient
from phiwarden.billing.imports import ImportRefused, x12_import
from phiwarden.billing.models import (
    Claim,
    ClaimPayment,
    ClaimStatus,
    Patient,
    ServiceLine,
    X12File,
)
from phiwarden.billing.synthetic import generate_batch
from phiwarden.vault.blobs import blob_read, blob_storage
from phiwarden.vault.models import EncryptedBlob

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "x12-samples"
BILLING_TABLES = (Claim, ClaimPayment, Patient, ServiceLine, X12File, EncryptedBlob)


def _file(writer_name: str, *, seed: int = 7, claims: int = 12) -> io.BytesIO:
    buffer = io.BytesIO()
    getattr(generate_batch(seed=seed, claims=claims), writer_name)(buffer)
    buffer.seek(0)
    return buffer


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in BILLING_TABLES}


def _stored_files() -> list[str]:
    storage = blob_storage()
    found: list[str] = []

    def walk(folder: str) -> None:
        directories, files = storage.listdir(folder)
        found.extend(f"{folder}/{name}".lstrip("/") for name in files)
        for directory in directories:
            walk(f"{folder}/{directory}".lstrip("/"))

    walk("")
    return found


def test_an_837p_imports_every_claim_with_its_lines_and_audits_each(owner, clients):
    result = x12_import(actor=owner, client=clients[0], stream=_file("write_837p"), filename="a")

    assert (result.claims, result.duplicate) == (12, False)
    assert Claim.objects.filter(client=clients[0]).count() == 12
    assert ServiceLine.objects.count() >= 12
    imported = AuditEvent.objects.filter(event_code=EventCode.BILLING_CLAIM_IMPORTED)
    assert imported.count() == 12
    patient_ids = set(
        AuditEventPatient.objects.filter(event__in=imported).values_list("patient_id", flat=True)
    )
    assert patient_ids == set(Patient.objects.values_list("pk", flat=True))
    file_event = AuditEvent.objects.get(event_code=EventCode.BILLING_FILE_IMPORTED)
    assert file_event.data["claims"] == 12


def test_the_original_file_is_kept_encrypted_and_reads_back_identically(owner, clients):
    original = _file("write_837p").getvalue()

    result = x12_import(
        actor=owner, client=clients[0], stream=io.BytesIO(original), filename="claims.837"
    )

    assert result.file is not None
    blob = result.file.blob
    assert b"".join(blob_read(blob)) == original
    with blob_storage().open(blob.storage_name, "rb") as stored:
        ciphertext = stored.read()
    assert b"ISA" not in ciphertext
    assert b"PHIWSYNTH" not in ciphertext


def test_importing_the_same_file_twice_creates_nothing(owner, clients):
    x12_import(actor=owner, client=clients[0], stream=_file("write_837p"), filename="a")
    before = _counts()

    again = x12_import(actor=owner, client=clients[0], stream=_file("write_837p"), filename="a")

    assert again.duplicate
    assert _counts() == before


def test_835_payments_match_their_claims_and_set_status(owner, clients):
    x12_import(actor=owner, client=clients[0], stream=_file("write_837p"), filename="c")

    result = x12_import(actor=owner, client=clients[0], stream=_file("write_835"), filename="r")

    assert result.payments > 0
    matched = ClaimPayment.objects.filter(claim__isnull=False)
    assert matched.count() == result.payments - result.unmatched_payments
    statuses = set(Claim.objects.values_list("status", flat=True))
    assert statuses & {ClaimStatus.PAID, ClaimStatus.PARTIALLY_PAID, ClaimStatus.DENIED}


def test_payments_for_unknown_claims_wait_in_the_unmatched_queue(owner, clients):
    result = x12_import(actor=owner, client=clients[0], stream=_file("write_835"), filename="r")

    assert result.unmatched_payments == result.payments > 0
    assert ClaimPayment.objects.filter(claim__isnull=True).count() == result.payments


def _truncated(data: bytes) -> bytes:
    """Cut the file in the middle of its claims: the envelope's counts no longer hold."""
    return data[: len(data) // 2]


def _bad_se_count(data: bytes) -> bytes:
    """The SE segment's count of segments no longer matches the transaction."""
    damaged, found = re.subn(rb"(~\s*)SE\*\d+\*", rb"\1SE*9999*", data, count=1)
    assert found == 1
    return damaged


@pytest.mark.parametrize("damage", [_truncated, _bad_se_count])
def test_a_damaged_file_is_refused_whole_and_leaves_nothing(damage, owner, clients):
    data = damage(_file("write_837p").getvalue())
    before, files_before = _counts(), _stored_files()
    events_before = AuditEvent.objects.count()

    with pytest.raises(ImportRefused) as refused:
        x12_import(actor=owner, client=clients[0], stream=io.BytesIO(data), filename="bad")

    message = " ".join(refused.value.messages)
    assert "segment" in message.lower()
    assert _counts() == before
    assert _stored_files() == files_before
    assert AuditEvent.objects.count() == events_before


def test_a_refusal_never_echoes_a_value_from_the_file(owner, clients):
    data = _file("write_837p").getvalue()
    segments = [segment.strip() for segment in data.decode().split("~")]
    names = [segment for segment in segments if segment.startswith("NM1*IL")]
    last_name = names[0].split("*")[3]
    broken = re.sub(rb"(~\s*)CLM\*", rb"\1CLM" + b"*" * 40, data, count=1)  # a mangled CLM

    with pytest.raises(ImportRefused) as refused:
        x12_import(actor=owner, client=clients[0], stream=io.BytesIO(broken), filename="bad")

    assert last_name not in str(refused.value)


def test_empty_oversize_and_unsupported_files_are_refused(owner, clients, settings):
    with pytest.raises(ImportRefused, match="empty"):
        x12_import(actor=owner, client=clients[0], stream=io.BytesIO(b""), filename="e")
    settings.X12_UPLOAD_MAX_BYTES = 1000
    with pytest.raises(ImportRefused, match="larger than"):
        x12_import(actor=owner, client=clients[0], stream=_file("write_837p"), filename="big")
    assert _counts()["X12File"] == 0


def test_members_without_import_or_client_assignment_are_refused(make_member, clients):
    coder = make_member(Role.CODER)
    manager = make_member(Role.BILLING_MANAGER)
    manager.clients.set([clients[1]])

    with pytest.raises(PermissionDenied):
        x12_import(actor=coder, client=clients[0], stream=_file("write_837p"), filename="a")
    with pytest.raises(ImportRefused, match="not assigned"):
        x12_import(actor=manager, client=clients[0], stream=_file("write_837p"), filename="a")
    assert _counts()["Claim"] == 0


def _sample_rows() -> list[dict[str, str]]:
    manifest = SAMPLES / "manifest.tsv"
    if not manifest.exists():
        return []
    with manifest.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("row", _sample_rows(), ids=lambda row: row["path"].rsplit("/", 1)[-1])
def test_every_public_sample_imports_or_is_refused_clearly(row, owner, clients):
    """../shared/x12-samples: supported files import; the rest are refused with a reason.
    Nothing else (no other exception, no partial rows)."""
    before = _counts()
    data = (SAMPLES / row["path"]).read_bytes()

    refusal: ImportRefused | None = None
    try:
        result = x12_import(actor=owner, client=clients[0], stream=io.BytesIO(data), filename="s")
    except ImportRefused as refused:
        refusal = refused
    if refusal is not None:
        assert refusal.messages
        assert all(refusal.messages)
        assert _counts() == before
    else:
        assert result.claims + result.payments > 0 or result.duplicate


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # the import is the outermost transaction
def test_a_postgresql_import_plans_each_statement_for_its_growing_tables(owner, clients):
    """Prepared statements may keep one generic plan made while the import's tables were
    small; the import transaction asks PostgreSQL to plan every statement afresh, and the
    setting ends with the transaction (ADR 0007)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    stream = io.BytesIO()
    generate_batch(seed=41, claims=3).write_837p(stream)
    stream.seek(0)

    with CaptureQueriesContext(connection) as queries:
        x12_import(actor=owner, client=clients[0], stream=stream, filename="plan.837")

    statements = [q["sql"] for q in queries.captured_queries]
    assert statements.count("SET LOCAL plan_cache_mode = force_custom_plan") == 1
    assert Claim.objects.count() == 3
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "auto"  # other work on the connection is unchanged
