"""parse(write(x)) == x, and memory that stays flat as files grow."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import tracemalloc
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phiwarden.billing.synthetic import SyntheticBatch, generate_batch
from phiwarden.billing.tests.test_x12_fixtures import SEGMENTS_837P, x12
from phiwarden.billing.x12 import parse_837, parse_x12, write_835, write_837
from phiwarden.billing.x12.models import (
    Adjustment,
    Claim,
    ClaimPayment,
    Diagnosis,
    Name,
    Procedure,
)

TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-&'/#", max_size=25).map(str.strip)
WORD = TEXT.filter(bool)
AMOUNT = st.decimals(min_value=0, max_value=999_999, places=2)
DATE = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
CODE = st.text(alphabet="ABCDEFGHJKLMNPQRSTVWXYZ0123456789", min_size=3, max_size=7)
NAME = st.builds(Name, last=WORD, first=TEXT, middle=TEXT, suffix=TEXT, entity_type=st.just("1"))


@cache
def _batch() -> SyntheticBatch:
    return generate_batch(7, claims=120)


@cache
def _claims() -> tuple[Claim, ...]:
    return tuple(_batch().iter_claims())


@cache
def _payments() -> tuple[ClaimPayment, ...]:
    return tuple(i for i in _batch().iter_remittance() if isinstance(i, ClaimPayment))


def _roundtrip_837(claims: list[Claim]) -> list[Claim]:
    buffer = io.BytesIO()
    write_837(claims, buffer)
    return list(parse_837(io.BytesIO(buffer.getvalue())))


def test_synthetic_batch_round_trips_unchanged():
    batch = _batch()
    for kind in ("837P", "837I"):
        claims = list(batch.iter_claims(kind))
        assert _roundtrip_837(claims) == claims
    items = list(batch.iter_remittance())
    buffer = io.BytesIO()
    write_835(items, buffer)
    assert list(parse_x12(io.BytesIO(buffer.getvalue()))) == items


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_edited_claims_round_trip(data):
    claims = list(data.draw(st.lists(st.sampled_from(_claims()), min_size=1, max_size=4)))
    index = data.draw(st.integers(0, len(claims) - 1))
    claim = claims[index]
    institutional = claim.kind == "837I"
    subscriber = dataclasses.replace(
        claim.subscriber,
        name=data.draw(NAME),
        member_id=data.draw(WORD),
        group_number=data.draw(TEXT),
        birth_date=data.draw(DATE),
        ssn=data.draw(st.sampled_from(["", "900121234"])),
    )
    diagnoses = [Diagnosis("ABK", data.draw(CODE))]
    diagnoses += [Diagnosis("ABF", c) for c in data.draw(st.lists(CODE, max_size=14))]
    lines = tuple(
        dataclasses.replace(
            line,
            charge=data.draw(AMOUNT),
            units=data.draw(st.decimals(min_value=1, max_value=99, places=1)),
            procedure=line.procedure
            if line.procedure is None
            else Procedure("HC", data.draw(CODE), tuple(data.draw(st.lists(CODE, max_size=4)))),
            service_date=data.draw(DATE),
        )
        for line in claim.service_lines
    )
    claims[index] = dataclasses.replace(
        claim,
        subscriber=subscriber,
        patient_control_number=data.draw(WORD),
        total_charge=data.draw(AMOUNT),
        diagnoses=tuple(diagnoses),
        onset_date=None if institutional else data.draw(st.none() | DATE),
        prior_authorization=data.draw(TEXT),
        payer_claim_control_number=data.draw(TEXT),
        service_lines=lines,
    )
    assert _roundtrip_837(claims) == claims


ADJUSTMENT = st.builds(
    Adjustment,
    group_code=st.just("CO"),
    reason_code=st.sampled_from(["45", "97", "253"]),
    amount=AMOUNT,
    quantity=st.none() | st.decimals(min_value=1, max_value=9, places=0),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_edited_claim_payments_round_trip(data):
    payment = data.draw(st.sampled_from(_payments()))
    edited = dataclasses.replace(
        payment,
        patient_control_number=data.draw(WORD),
        paid=data.draw(AMOUNT),
        patient_responsibility=data.draw(st.none() | AMOUNT),
        patient_name=data.draw(NAME),
        adjustments=tuple(data.draw(st.lists(ADJUSTMENT, max_size=8))),
        remark_codes=tuple(data.draw(st.lists(st.sampled_from(["N130", "M15"]), max_size=5))),
        received_date=data.draw(st.none() | DATE),
    )
    buffer = io.BytesIO()
    write_835([edited], buffer)
    assert list(parse_x12(io.BytesIO(buffer.getvalue()))) == [edited]


def _many_claims(template: Claim, count: int) -> Iterator[Claim]:
    for n in range(count):
        yield dataclasses.replace(template, patient_control_number=f"PW{n:010d}")


def _parse_peak(path: Path) -> int:
    tracemalloc.start()
    try:
        with path.open("rb") as f:
            for _ in parse_837(f):
                pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_file_grows(tmp_path):
    (template,) = parse_837(io.BytesIO(x12(SEGMENTS_837P)))
    peaks = {}
    for count in (300, 3000):
        path = tmp_path / f"{count}.x12"
        with path.open("wb") as f:
            write_837(_many_claims(template, count), f)
        peaks[count] = _parse_peak(path)
    assert peaks[3000] < peaks[300] * 1.5
    assert peaks[3000] < 2_000_000
