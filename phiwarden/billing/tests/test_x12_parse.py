"""Typed parsing of 837P and 835, the public sample corpus, and the code tables."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest

from phiwarden.billing.tests.test_x12_fixtures import (
    PHI_MEMBER_ID,
    PHI_NAME,
    SEGMENTS_835,
    SEGMENTS_837P,
    x12,
)
from phiwarden.billing.x12 import ErrorCode, X12Error, parse_835, parse_837, parse_x12
from phiwarden.billing.x12.codes import CARC, RARC, describe_carc, describe_rarc
from phiwarden.billing.x12.identifiers import is_never_issued_ssn, is_valid_npi
from phiwarden.billing.x12.models import (
    Adjustment,
    ClaimPayment,
    Diagnosis,
    Procedure,
    ProviderAdjustment,
)


def test_837p_claim_fields():
    (claim,) = parse_837(io.BytesIO(x12(SEGMENTS_837P)))

    assert claim.kind == "837P"
    assert claim.transaction.interchange.usage_indicator == "T"
    assert claim.transaction.interchange.sender_id == "PHIWSYNTH"
    assert claim.transaction.group.version == "005010X222A1"
    assert claim.billing_provider.npi == "1234567893"
    assert claim.billing_provider.tax_id == "071234567"
    assert claim.billing_provider.address.postal_code == "627010001"
    assert claim.subscriber.name.last == PHI_NAME
    assert claim.subscriber.member_id == PHI_MEMBER_ID
    assert claim.subscriber.birth_date == dt.date(1933, 2, 15)
    assert claim.subscriber.ssn == "900121234"
    assert claim.subscriber.payer_id == "SX101"
    assert claim.patient is None
    assert claim.patient_control_number == "PW00100000001"
    assert claim.total_charge == Decimal("150.5")
    assert (claim.facility_code, claim.frequency_code) == ("11", "1")
    assert claim.diagnoses == (Diagnosis("ABK", "E119"), Diagnosis("ABF", "I10"))
    assert claim.prior_authorization == "PA12345678"
    assert claim.rendering_provider is not None
    assert claim.rendering_provider.taxonomy == "207Q00000X"
    first, second = claim.service_lines
    assert first.procedure == Procedure("HC", "99213", ("25",))
    assert first.diagnosis_pointers == (1, 2)
    assert first.service_date == dt.date(2025, 4, 1)
    assert first.line_control_number == "PW00100000001L1"
    assert second.charge == Decimal("50")


def test_835_claim_payment_and_plb():
    payment, plb = parse_835(io.BytesIO(x12(SEGMENTS_835)))

    assert isinstance(payment, ClaimPayment)
    assert isinstance(plb, ProviderAdjustment)
    assert payment.remittance is plb.remittance
    assert payment.remittance.method == "CHK"
    assert payment.remittance.amount == Decimal("70.4")
    assert payment.remittance.trace_number == "0000012345"
    assert payment.patient_control_number == "PW00100000001"
    assert (payment.status, payment.paid, payment.patient_responsibility) == (
        "1",
        Decimal("80.4"),
        Decimal("20"),
    )
    assert payment.payer_claim_control_number == "2500000000001"
    assert payment.patient_id == PHI_MEMBER_ID
    service, denied = payment.services
    assert service.adjustments == (
        Adjustment("CO", "45", Decimal("20.1")),
        Adjustment("PR", "3", Decimal("20")),
    )
    assert service.allowed_amount == Decimal("80.4")
    assert denied.remark_codes == ("M15",)
    assert plb.items[0].reason_code == "WO"
    assert plb.items[0].amount == Decimal("10")


def test_parse_837_refuses_an_835():
    with pytest.raises(X12Error) as info:
        list(parse_837(io.BytesIO(x12(SEGMENTS_835))))
    assert info.value.code == ErrorCode.UNSUPPORTED


def _manifest(root: Path) -> list[tuple[str, str, Path]]:
    lines = (root / "manifest.tsv").read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.split("\t") for line in lines]
    return [(row[4], row[6], root / row[7]) for row in rows]


def test_every_public_sample_parses_or_is_refused_clearly(x12_samples_dir):
    outcomes: dict[str, int] = {}
    for set_id, role, path in _manifest(x12_samples_dir):
        refusal: X12Error | None = None
        try:
            with path.open("rb") as f:
                items = list(parse_x12(f))
        except X12Error as error:
            refusal = error
        if refusal is not None:
            outcome = f"refused {refusal.code.value}"
            if role == "malformed-preamble":
                assert refusal.code == ErrorCode.NO_ISA, path
            elif set_id not in ("835", "837"):
                assert refusal.code == ErrorCode.UNSUPPORTED, path
                assert f"unsupported transaction set {set_id}" in refusal.reason
        else:
            outcome = "parsed"
            assert set_id in ("835", "837"), path
            assert items, path
            assert role == "valid", path
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes["parsed"] >= 45


def test_every_supported_hipaa_sample_from_stupidedi_parses(x12_samples_dir):
    guides = ("X222A1 HC837", "X223A2 HC837", "X221A1 HP835")
    paths = [
        path
        for _, role, path in _manifest(x12_samples_dir)
        if role == "valid" and any(g in str(path) for g in guides)
    ]
    assert len(paths) == 28
    for path in paths:
        with path.open("rb") as f:
            assert list(parse_x12(f)), path


def test_code_tables_cover_the_common_codes():
    carcs = "1 2 3 4 16 18 22 23 27 29 45 50 96 97 109 119 197 204 242 253"
    for code in carcs.split():
        assert code in CARC
    for code in ("N130", "M15", "N115", "MA130", "M86", "N290"):
        assert code in RARC
    assert describe_carc("45").startswith("Charge exceeds")
    assert describe_carc("9999") == "Adjustment reason 9999"
    assert describe_rarc("XX1") == "Remark XX1"


@pytest.mark.parametrize(
    ("_case", "npi", "valid"),
    [
        ("CMS example", "1234567893", True),
        ("wrong check digit", "1234567890", False),
        ("too short", "123456789", False),
        ("letters", "12345678a3", False),
    ],
)
def test_npi_check_digit(_case, npi, valid):
    assert is_valid_npi(npi) is valid


def test_never_issued_ssn_ranges():
    assert is_never_issued_ssn("000121234")
    assert is_never_issued_ssn("666-12-1234")
    assert is_never_issued_ssn("912121234")
    assert not is_never_issued_ssn("123121234")
