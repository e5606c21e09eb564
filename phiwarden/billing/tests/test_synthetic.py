"""The synthetic generator: deterministic, marked, realistic, and valid per pyx12."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
import pyx12.params  # type: ignore[import-untyped]
import pyx12.x12n_document  # type: ignore[import-untyped]

from phiwarden.billing.synthetic import SYNTHETIC_SENDER_ID, SyntheticBatch, generate_batch
from phiwarden.billing.synthetic.__main__ import main
from phiwarden.billing.synthetic.people import icd10_pools
from phiwarden.billing.synthetic.reference import RESTRICTED_ZIP3
from phiwarden.billing.x12 import parse_x12
from phiwarden.billing.x12.identifiers import is_never_issued_ssn, is_valid_npi
from phiwarden.billing.x12.models import Claim, ClaimPayment, ProviderAdjustment

SAFE_HARBOR = Path(__file__).resolve().parents[3].parent / "shared/reference/safe-harbor.json"


@cache
def _batch() -> SyntheticBatch:
    return generate_batch(11, claims=400)


def _files(batch: SyntheticBatch) -> dict[str, bytes]:
    files = {}
    for kind, write in (
        ("837P", batch.write_837p),
        ("837I", batch.write_837i),
        ("835", batch.write_835),
    ):
        buffer = io.BytesIO()
        write(buffer)
        files[kind] = buffer.getvalue()
    return files


def test_same_seed_gives_byte_identical_files():
    first = _files(generate_batch(3, claims=150))
    second = _files(generate_batch(3, claims=150))
    other = _files(generate_batch(4, claims=150))
    digest = {k: hashlib.sha256(v).hexdigest() for k, v in first.items()}
    assert digest == {k: hashlib.sha256(v).hexdigest() for k, v in second.items()}
    assert first["837P"] != other["837P"]


def test_claim_count_and_both_claim_kinds():
    batch = _batch()
    kinds = [claim.kind for claim in batch.iter_claims()]
    assert len(kinds) == 400
    assert 0 < kinds.count("837I") < kinds.count("837P")


def test_every_file_is_marked_synthetic_and_test_data():
    for data in _files(_batch()).values():
        items = list(parse_x12(io.BytesIO(data)))
        first = items[0]
        interchange = (
            first.transaction.interchange
            if isinstance(first, Claim)
            else first.remittance.interchange
        )
        assert interchange.sender_id == SYNTHETIC_SENDER_ID
        assert interchange.usage_indicator == "T"


def test_npis_are_luhn_valid():
    batch = _batch()
    npis = {c.npi for c in batch.clients} | {p.npi for c in batch.clients for p in c.providers}
    assert len(npis) >= 10
    assert all(is_valid_npi(npi) for npi in npis)


def test_ssns_are_never_issued():
    batch = _batch()
    ssns = [p.person.ssn for p in batch.patients]
    ssns += [p.subscriber.ssn for p in batch.patients if p.subscriber]
    ssns += [c.subscriber.ssn for c in batch.iter_claims() if c.subscriber.ssn]
    assert all(is_never_issued_ssn(ssn) for ssn in ssns)
    assert all(ssn[:3] in ("000", "666") or ssn[:3] >= "900" for ssn in ssns)


def test_restricted_zip3s_and_ages_over_89_are_present():
    batch = generate_batch(5, claims=1500)
    zip3s = {p.person.address.postal_code[:3] for p in batch.patients}
    assert zip3s & set(RESTRICTED_ZIP3)
    ages = [(batch.as_of - p.person.birth_date).days // 365 for p in batch.patients]
    assert sum(age >= 90 for age in ages) >= 3
    claim_ages = [
        (line.service_date - (claim.patient or claim.subscriber).birth_date).days // 365
        for claim in batch.iter_claims()
        for line in claim.service_lines[:1]
        if line.service_date and (claim.patient or claim.subscriber).birth_date
    ]
    assert max(claim_ages) >= 90


def test_restricted_zip3_list_matches_safe_harbor_reference():
    if not SAFE_HARBOR.is_file():
        pytest.skip("shared/reference/safe-harbor.json not found")
    reference = json.loads(SAFE_HARBOR.read_text(encoding="utf-8"))
    values = reference["safe_harbor"]["zip3_rule"]["restricted_zip3"]["values"]
    assert sorted(RESTRICTED_ZIP3) == sorted(values)


def test_diagnoses_are_billable_icd10_codes():
    _, billable = icd10_pools()
    billable_set = set(billable)
    codes = {d.code for c in _batch().iter_claims() for d in c.diagnoses}
    assert codes <= billable_set


def test_remittances_cover_paid_denied_partial_and_unmatched():
    batch = _batch()
    sent = {c.patient_control_number for c in batch.iter_claims()}
    payments = [i for i in batch.iter_remittance() if isinstance(i, ClaimPayment)]
    denied = [p for p in payments if p.status == "4"]
    paid = [p for p in payments if p.status == "1" and p.paid > 0]
    partial = [p for p in payments if any(s.paid == 0 for s in p.services) and p.paid > 0]
    unmatched = [p for p in payments if p.patient_control_number not in sent]
    assert denied
    assert paid
    assert partial
    assert unmatched
    assert all(p.adjustments[0].reason_code for p in denied)
    for payment in payments:
        adjusted = sum((a.amount for a in payment.adjustments), Decimal(0))
        adjusted += sum((a.amount for s in payment.services for a in s.adjustments), Decimal(0))
        assert payment.charge - adjusted == payment.paid
    totals: dict[str, list[Decimal]] = {}
    for item in batch.iter_remittance():
        remittance = item.remittance
        amount: Decimal
        if isinstance(item, ProviderAdjustment):
            amount = -sum((i.amount for i in item.items), Decimal(0))
        else:
            amount = item.paid
        totals.setdefault(remittance.control_number, [remittance.amount, Decimal(0)])[1] += amount
    assert all(expected == found for expected, found in totals.values())


def _pyx12_errors(path: Path) -> list[str]:
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    report = io.StringIO()
    valid = pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(), src_file=str(path), fd_997=None, fd_html=None, fd_json=report
    )
    if valid:
        return []
    return [report.getvalue()[:2000]]


@pytest.mark.parametrize("kind", ["837P", "837I", "835"])
def test_generated_files_pass_pyx12_validation(kind, tmp_path):
    path = tmp_path / f"{kind}.x12"
    path.write_bytes(_files(generate_batch(21, claims=250))[kind])
    assert _pyx12_errors(path) == []


def test_command_line_writes_three_files(tmp_path, capsys):
    assert main(["--claims", "60", "--seed", "2", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["synthetic-835.x12", "synthetic-837i.x12", "synthetic-837p.x12"]
    assert "synthetic" in capsys.readouterr().out


def test_as_of_date_drives_every_date():
    batch = generate_batch(2, claims=60, as_of=dt.date(2024, 1, 31))
    dates = [line.service_date for c in batch.iter_claims() for line in c.service_lines]
    assert all(d is not None and d < dt.date(2024, 1, 31) for d in dates)
