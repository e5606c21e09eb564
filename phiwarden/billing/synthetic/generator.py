"""`generate_batch`: seeded synthetic claims with their 837P, 837I and 835 files.

Everything made here is SYNTHETIC and marked so: every interchange has ISA06 sender id
`PHIWSYNTH` and ISA15 usage indicator `T` (test), the submitter is "PHI WARDEN SYNTHETIC
DATA", SSNs are from never-issued ranges and NPIs are random numbers with a valid check digit.

Same seed and arguments -> byte-identical files. The batch keeps only its reference data
(clients, payers, patients); claims are regenerated from the seed on every pass, one
submission (at most ~120 claims) at a time, so writing 50,000 claims stays small in memory.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypedDict

from phiwarden.billing.synthetic.adjudication import adjudicate
from phiwarden.billing.synthetic.people import (
    PeopleFactory,
    SyntheticClient,
    SyntheticPatient,
    SyntheticPayer,
    SyntheticPerson,
    icd10_pools,
)
from phiwarden.billing.synthetic.reference import (
    INPATIENT_REVENUE,
    OUTPATIENT_REVENUE,
    PLACES_OF_SERVICE,
    PROFESSIONAL_SPECIALTIES,
)
from phiwarden.billing.x12.models import (
    BillingProvider,
    Claim,
    ClaimKind,
    Diagnosis,
    FunctionalGroup,
    Interchange,
    Name,
    Patient,
    Procedure,
    ProviderRef,
    RemittanceItem,
    ServiceLine,
    Subscriber,
    TransactionSet837,
)
from phiwarden.billing.x12.writer import BinaryWritable, write_835, write_837

SYNTHETIC_SENDER_ID = "PHIWSYNTH"
SYNTHETIC_RECEIVER_ID = "PHIWSYNTHCH"
SYNTHETIC_SUBMITTER = "PHI WARDEN SYNTHETIC DATA"
DEFAULT_AS_OF = dt.date(2025, 6, 30)
CENT = Decimal("0.01")
VERSIONS: dict[ClaimKind, str] = {"837P": "005010X222A1", "837I": "005010X223A2"}
FileKind = Literal["837P", "837I", "835"]
FILE_KINDS: tuple[FileKind, ...] = ("837P", "837I", "835")


class _ClaimCommon(TypedDict):
    transaction: TransactionSet837
    billing_provider: BillingProvider
    subscriber: Subscriber
    patient: Patient | None
    patient_control_number: str
    frequency_code: str
    assignment: str
    benefits_assigned: str
    release_of_information: str
    diagnoses: tuple[Diagnosis, ...]
    prior_authorization: str
    payer_claim_control_number: str


@dataclass(slots=True)
class Submission:
    """The claims one client sends in one transaction set, and their remittances."""

    number: int
    client: SyntheticClient
    claims: list[Claim] = field(default_factory=list)
    remittance: list[RemittanceItem] = field(default_factory=list)


@dataclass(frozen=True)
class SyntheticBatch:
    """Reference data plus the seed; iterate or write its files as often as needed."""

    seed: int
    claims: int
    as_of: dt.date
    institutional_share: float
    clients: tuple[SyntheticClient, ...]
    payers: tuple[SyntheticPayer, ...]
    patients: tuple[SyntheticPatient, ...]

    # -- envelopes ---------------------------------------------------------------------------

    def interchange(self, kind: FileKind) -> Interchange:
        offset = {"837P": 1, "837I": 2, "835": 3}[kind]
        return Interchange(
            sender_qualifier="ZZ",
            sender_id=SYNTHETIC_SENDER_ID,
            receiver_qualifier="ZZ",
            receiver_id=SYNTHETIC_RECEIVER_ID,
            date=self.as_of,
            time=dt.time(9, 30),
            control_number=f"{(self.seed % 99_999) * 10 + offset:09d}",
            acknowledgment_requested=False,
            usage_indicator="T",
        )

    def group(self, kind: FileKind) -> FunctionalGroup:
        return FunctionalGroup(
            functional_id="HP" if kind == "835" else "HC",
            sender_code=SYNTHETIC_SENDER_ID,
            receiver_code=SYNTHETIC_RECEIVER_ID,
            date=self.as_of,
            time=dt.time(9, 30),
            control_number=str({"837P": 1, "837I": 2, "835": 3}[kind]),
            version="005010X221A1" if kind == "835" else VERSIONS[kind],
        )

    # -- passes ------------------------------------------------------------------------------

    def submissions(self) -> Iterator[Submission]:
        """Every submission in order, regenerated deterministically from the seed."""
        return _ClaimFactory(self).submissions()

    def iter_claims(self, kind: ClaimKind | None = None) -> Iterator[Claim]:
        for submission in self.submissions():
            for claim in submission.claims:
                if kind is None or claim.kind == kind:
                    yield claim

    def iter_remittance(self) -> Iterator[RemittanceItem]:
        for submission in self.submissions():
            yield from submission.remittance

    def write_837p(self, stream: BinaryWritable) -> int:
        return write_837(self.iter_claims("837P"), stream)

    def write_837i(self, stream: BinaryWritable) -> int:
        return write_837(self.iter_claims("837I"), stream)

    def write_835(self, stream: BinaryWritable) -> int:
        return write_835(self.iter_remittance(), stream)


def generate_batch(
    seed: int,
    claims: int = 500,
    *,
    as_of: dt.date = DEFAULT_AS_OF,
    practices: int = 4,
    hospitals: int = 2,
    institutional_share: float = 0.25,
) -> SyntheticBatch:
    """A synthetic batch of about `claims` claims (exactly `claims` in total, 837P + 837I)."""
    if claims < 0 or practices < 1 or hospitals < 0:
        raise ValueError("claims must be >= 0, practices >= 1 and hospitals >= 0")
    factory = PeopleFactory(seed, as_of)
    clients = tuple(factory.client(i, "professional") for i in range(practices))
    clients += tuple(factory.client(practices + i, "institutional") for i in range(hospitals))
    payers = factory.payers()
    patient_count = max(20, claims // 3)
    patients = tuple(
        factory.patient(n + 1, len(clients), len(payers)) for n in range(patient_count)
    )
    return SyntheticBatch(
        seed=seed,
        claims=claims,
        as_of=as_of,
        institutional_share=institutional_share if hospitals else 0.0,
        clients=clients,
        payers=payers,
        patients=patients,
    )


class _ClaimFactory:
    """One pass over the batch's claims. Uses its own RNG so passes are identical."""

    def __init__(self, batch: SyntheticBatch) -> None:
        self.batch = batch
        self.rng = random.Random(f"phiwarden-synthetic:{batch.seed}:claims")  # noqa: S311 -- synthetic data
        self.common_icd, self.all_icd = icd10_pools()
        self.by_client: dict[int, list[SyntheticPatient]] = {}
        for patient in batch.patients:
            self.by_client.setdefault(patient.client_index, []).append(patient)
        self.claim_serial = 0
        self.set_numbers = {"837P": 0, "837I": 0, "835": 0}
        self.interchanges = {k: batch.interchange(k) for k in FILE_KINDS}
        self.groups = {k: batch.group(k) for k in FILE_KINDS}

    def submissions(self) -> Iterator[Submission]:
        batch, rng = self.batch, self.rng
        professional = [i for i, c in enumerate(batch.clients) if c.kind == "professional"]
        institutional = [i for i, c in enumerate(batch.clients) if c.kind == "institutional"]
        remaining, number, hospital_claims = batch.claims, 0, 0
        while remaining > 0:
            number += 1
            size = min(remaining, rng.randint(20, 120))
            done = batch.claims - remaining
            # Keep the institutional share on target as the batch grows, not just on average.
            use_hospital = bool(institutional) and (
                hospital_claims < batch.institutional_share * (done + size) - size / 2
            )
            index = rng.choice(institutional if use_hospital else professional)
            submission = self._submission(number, index, size)
            hospital_claims += len(submission.claims) if use_hospital else 0
            remaining -= len(submission.claims)
            yield submission

    def _submission(self, number: int, client_index: int, size: int) -> Submission:
        batch, rng = self.batch, self.rng
        client = batch.clients[client_index]
        kind: ClaimKind = "837I" if client.kind == "institutional" else "837P"
        submission = Submission(number=number, client=client)
        transaction = self._transaction(kind)
        provider = BillingProvider(
            name=Name(client.name, entity_type="2"),
            npi=client.npi,
            tax_id=client.tax_id,
            tax_id_qualifier="EI",
            address=client.address,
            taxonomy=client.taxonomy,
        )
        panel = self.by_client.get(client_index) or list(batch.patients)
        while len(submission.claims) < size:
            patient = rng.choice(panel)
            subscriber, dependent = self._subscriber(patient)
            for _ in range(min(rng.choice((1, 1, 1, 2, 3)), size - len(submission.claims))):
                submission.claims.append(
                    self._claim(transaction, provider, subscriber, dependent, client, patient)
                )
        submission.remittance = adjudicate(
            submission.claims,
            payers=batch.payers,
            rng=rng,
            interchange=self.interchanges["835"],
            group=self.groups["835"],
            set_numbers=self.set_numbers,
            as_of=batch.as_of,
        )
        return submission

    def _transaction(self, kind: ClaimKind) -> TransactionSet837:
        self.set_numbers[kind] += 1
        serial = self.set_numbers[kind]
        return TransactionSet837(
            interchange=self.interchanges[kind],
            group=self.groups[kind],
            kind=kind,
            control_number=f"{serial:04d}",
            purpose="00",
            reference=f"SYN{self.batch.seed % 10000:04d}{serial:05d}",
            created_date=self.batch.as_of,
            created_time=dt.time(9, 30),
            claim_or_encounter="CH",
            submitter_name=Name(SYNTHETIC_SUBMITTER, entity_type="2"),
            submitter_id=SYNTHETIC_SENDER_ID,
            contact_name="EDI DESK",
            contact_phone="2125550100",
            receiver_name="PHI WARDEN SYNTHETIC CLEARINGHOUSE",
            receiver_id=SYNTHETIC_RECEIVER_ID,
        )

    def _subscriber(self, patient: SyntheticPatient) -> tuple[Subscriber, Patient | None]:
        payer = self.batch.payers[patient.payer_index]
        insured: SyntheticPerson = patient.subscriber or patient.person
        subscriber = Subscriber(
            payer_responsibility="P",
            relationship="" if patient.subscriber else "18",
            group_number=patient.group_number,
            group_name="",
            claim_filing_indicator=payer.filing_indicator,
            name=insured.name,
            member_id_qualifier="MI",
            member_id=patient.member_id,
            address=insured.address,
            birth_date=insured.birth_date,
            sex=insured.sex,
            ssn=insured.ssn if self.rng.random() < 0.1 else "",
            payer_name=payer.name,
            payer_id_qualifier="PI",
            payer_id=payer.payer_id,
        )
        if patient.subscriber is None:
            return subscriber, None
        person = patient.person
        dependent = Patient(
            relationship=patient.relationship,
            name=person.name,
            address=person.address,
            birth_date=person.birth_date,
            sex=person.sex,
        )
        return subscriber, dependent

    def _diagnoses(self, kind: ClaimKind) -> tuple[Diagnosis, ...]:
        rng = self.rng
        count = rng.choice((1, 1, 2, 2, 3, 4))
        codes: list[str] = []
        while len(codes) < count:
            pool = self.common_icd if rng.random() < 0.8 else self.all_icd
            code = rng.choice(pool)
            if code not in codes:
                codes.append(code)
        result = [Diagnosis("ABK", codes[0])]
        if kind == "837I" and rng.random() < 0.3:
            result.append(Diagnosis("ABJ", rng.choice(self.common_icd)))
        result += [Diagnosis("ABF", c) for c in codes[1:]]
        return tuple(result)

    def _claim(
        self,
        transaction: TransactionSet837,
        provider: BillingProvider,
        subscriber: Subscriber,
        patient: Patient | None,
        client: SyntheticClient,
        synthetic: SyntheticPatient,
    ) -> Claim:
        rng = self.rng
        self.claim_serial += 1
        pcn = f"PW{self.batch.seed % 1000:03d}{self.claim_serial:08d}"
        service_date = self.batch.as_of - dt.timedelta(days=rng.randint(20, 150))
        diagnoses = self._diagnoses(transaction.kind)
        doctor = rng.choice(client.providers)
        doctor_ref = ProviderRef(doctor.name, doctor.npi, doctor.taxonomy)
        replacement = rng.random() < 0.03
        common: _ClaimCommon = {
            "transaction": transaction,
            "billing_provider": provider,
            "subscriber": subscriber,
            "patient": patient,
            "patient_control_number": pcn,
            "frequency_code": "7" if replacement else "1",
            "assignment": "A",
            "benefits_assigned": "Y",
            "release_of_information": "Y",
            "diagnoses": diagnoses,
            "prior_authorization": f"PA{rng.randrange(10**8):08d}" if rng.random() < 0.1 else "",
            "payer_claim_control_number": f"{rng.randrange(10**13):013d}" if replacement else "",
        }
        if transaction.kind == "837I":
            return self._institutional(common, service_date, doctor_ref)
        pointers = tuple(range(1, min(len(diagnoses), 4) + 1))
        specialty = PROFESSIONAL_SPECIALTIES[client.specialty]
        lines = []
        for number in range(1, rng.choice((1, 1, 2, 2, 3, 4)) + 1):
            code = rng.choice(specialty[1])
            modifiers = (rng.choice(specialty[2]),) if rng.random() < 0.15 else ()
            units = Decimal(rng.choice((1, 1, 1, 1, 2, 3)))
            lines.append(
                ServiceLine(
                    number=number,
                    procedure=Procedure("HC", code, modifiers),
                    revenue_code="",
                    charge=(_fee(code) * units).quantize(CENT),
                    unit_basis="UN",
                    units=units,
                    place_of_service="",
                    diagnosis_pointers=pointers[: rng.randint(1, len(pointers))],
                    service_date=service_date,
                    service_date_end=None,
                    line_control_number=f"{pcn}L{number}",
                )
            )
        return Claim(
            **common,
            total_charge=sum((line.charge for line in lines), Decimal(0)),
            facility_code=rng.choice(PLACES_OF_SERVICE),
            facility_code_qualifier="B",
            provider_signature="Y",
            onset_date=service_date - dt.timedelta(days=rng.randint(1, 60))
            if rng.random() < 0.2
            else None,
            rendering_provider=doctor_ref,
            service_lines=tuple(lines),
        )

    def _institutional(
        self, common: _ClaimCommon, service_date: dt.date, attending: ProviderRef
    ) -> Claim:
        rng = self.rng
        inpatient = rng.random() < 0.3
        stay = rng.randint(1, 7) if inpatient else 0
        table = INPATIENT_REVENUE if inpatient else OUTPATIENT_REVENUE
        lines = []
        for number, revenue in enumerate(
            sorted(rng.sample(sorted(table), rng.randint(1, min(4, len(table))))), start=1
        ):
            code = rng.choice(table[revenue])
            units = Decimal(stay if revenue == "0120" else rng.choice((1, 1, 2)))
            lines.append(
                ServiceLine(
                    number=number,
                    procedure=Procedure("HC", code) if code else None,
                    revenue_code=revenue,
                    charge=(_fee(code or revenue) * units * 3).quantize(CENT),
                    unit_basis="DA" if revenue == "0120" else "UN",
                    units=units,
                    place_of_service="",
                    diagnosis_pointers=(),
                    service_date=service_date,
                    service_date_end=None,
                    line_control_number=f"{common['patient_control_number']}L{number}",
                )
            )
        discharge = service_date + dt.timedelta(days=stay)
        return Claim(
            **common,
            total_charge=sum((line.charge for line in lines), Decimal(0)),
            facility_code="11" if inpatient else "13",
            facility_code_qualifier="A",
            provider_signature="",
            statement_from=service_date,
            statement_to=discharge,
            admission_date=service_date,
            admission_time=dt.time(rng.randint(0, 23), rng.choice((0, 15, 30, 45))),
            discharge_time=dt.time(rng.randint(8, 18), 0) if inpatient else None,
            admission_type=rng.choice(("1", "2", "3")),
            admission_source=rng.choice(("1", "7")),
            patient_status="01",
            medical_record_number=f"MR{rng.randrange(10**7):07d}",
            attending_provider=attending,
            service_lines=tuple(lines),
        )


def _fee(code: str) -> Decimal:
    """A stable made-up fee per code number (not any real fee schedule)."""
    seed = sum(ord(c) * (i + 7) for i, c in enumerate(code))
    return Decimal(40 + seed % 260) + Decimal(seed % 100) / 100
