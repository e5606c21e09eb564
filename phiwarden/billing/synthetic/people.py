"""Synthetic practices, providers, payers and patients: realistic, and never real.

* NPIs are ten digits with a valid Luhn check digit over 80840 + the first nine, drawn at
  random, so they look like NPIs but are not looked up against NPPES.
* SSNs are ALWAYS from ranges the Social Security Administration never issues (area 000,
  666 or 900-999), so no synthetic SSN can belong to a person.
* Tax ids use EIN prefixes the IRS does not assign (07, 08, 09); routing numbers start
  with 9, which no ABA routing number does; phone numbers use the fictional 555-01xx range.
* Names and street addresses come from Faker; some ZIP codes fall in the restricted ZIP3s
  and some patients are 90 or older, so de-identification has something to do.
"""

from __future__ import annotations

import datetime as dt
import random
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Literal

from faker import Faker

from phiwarden.billing.synthetic.reference import (
    ATTENDING_TAXONOMIES,
    COMMON_ICD_CATEGORIES,
    HOSPITAL_TAXONOMY,
    PAYERS,
    PRACTICE_WORDS,
    PROFESSIONAL_SPECIALTIES,
    RESTRICTED_ZIP3,
)
from phiwarden.billing.x12.identifiers import npi_check_digit
from phiwarden.billing.x12.models import Address, Name

NEVER_ISSUED_SSN_AREAS = ("000", "666", *(str(a) for a in range(900, 1000)))
_STATES = (
    "AL", "AZ", "CA", "CO", "CT", "FL", "GA", "IL", "IN", "KY", "MA", "MD", "MI", "MN",
    "MO", "NC", "NJ", "NY", "OH", "OR", "PA", "SC", "TN", "TX", "VA", "WA", "WI",
)  # fmt: skip


def synthetic_npi(rng: random.Random) -> str:
    """A ten-digit NPI-shaped number with a valid check digit (first digit 1 or 2)."""
    first_nine = str(rng.choice((1, 2))) + f"{rng.randrange(10**8):08d}"
    return first_nine + str(npi_check_digit(first_nine))


def synthetic_ssn(rng: random.Random) -> str:
    """A never-issued SSN (area 000, 666 or 900-999): synthetic by construction."""
    area = rng.choice(NEVER_ISSUED_SSN_AREAS)
    return f"{area}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def synthetic_ein(rng: random.Random) -> str:
    return f"{rng.choice(('07', '08', '09'))}{rng.randrange(10**7):07d}"


def synthetic_phone(rng: random.Random) -> str:
    return f"{rng.choice(('212', '312', '415', '503', '617', '720'))}55501{rng.randrange(100):02d}"


@dataclass(frozen=True, slots=True)
class SyntheticProvider:
    name: Name
    npi: str
    taxonomy: str


@dataclass(frozen=True, slots=True)
class SyntheticClient:
    """A covered entity the billing company bills for: a practice (837P) or a hospital
    (837I)."""

    code: str
    name: str
    kind: Literal["professional", "institutional"]
    specialty: str
    npi: str
    tax_id: str
    taxonomy: str
    address: Address
    providers: tuple[SyntheticProvider, ...]


@dataclass(frozen=True, slots=True)
class SyntheticPayer:
    name: str
    payer_id: str
    filing_indicator: str
    member_prefix: str
    address: Address
    phone: str
    tax_id: str


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    name: Name
    birth_date: dt.date
    sex: str
    address: Address
    ssn: str  # never-issued range: synthetic by construction


@dataclass(frozen=True, slots=True)
class SyntheticPatient:
    """A patient, with the subscriber whose plan covers them when that is someone else."""

    patient_id: str
    person: SyntheticPerson
    client_index: int
    payer_index: int
    member_id: str
    group_number: str
    subscriber: SyntheticPerson | None  # None: the patient is the subscriber
    relationship: str  # PAT01 when the subscriber is someone else: 01 spouse, 19 child


class PeopleFactory:
    """Deterministic given its seed: the same calls in the same order give the same people."""

    def __init__(self, seed: int, as_of: dt.date) -> None:
        self.rng = random.Random(f"phiwarden-synthetic:{seed}:people")  # noqa: S311 -- synthetic data
        self.faker = Faker("en_US")
        self.faker.seed_instance(seed)
        self.as_of = as_of

    def address(self, *, restricted: bool = False, nine_digit: bool = False) -> Address:
        rng, faker = self.rng, self.faker
        if restricted:
            zip3, state = rng.choice(sorted(RESTRICTED_ZIP3.items()))
            postal = f"{zip3}{rng.randrange(100):02d}"
        else:
            state = rng.choice(_STATES)
            postal = faker.zipcode_in_state(state)
        if nine_digit:
            postal += f"{rng.randrange(1, 10000):04d}"
        line2 = faker.secondary_address() if rng.random() < 0.15 else ""
        return Address(faker.street_address(), line2, faker.city(), state, postal)

    def person(self, *, min_age: int, max_age: int, sex: str = "") -> SyntheticPerson:
        rng, faker = self.rng, self.faker
        sex = sex or rng.choice("FM")
        first = faker.first_name_female() if sex == "F" else faker.first_name_male()
        middle = faker.first_name()[0] if rng.random() < 0.4 else ""
        age_days = rng.randint(min_age * 366, max_age * 365 + 364)
        return SyntheticPerson(
            name=Name(faker.last_name().upper(), first.upper(), middle.upper()),
            birth_date=self.as_of - dt.timedelta(days=age_days),
            sex=sex,
            address=self.address(restricted=rng.random() < 0.04),
            ssn=synthetic_ssn(rng),
        )

    def provider(self, taxonomy: str) -> SyntheticProvider:
        faker = self.faker
        name = Name(faker.last_name().upper(), faker.first_name().upper())
        return SyntheticProvider(name=name, npi=synthetic_npi(self.rng), taxonomy=taxonomy)

    def client(self, index: int, kind: Literal["professional", "institutional"]) -> SyntheticClient:
        rng = self.rng
        word = PRACTICE_WORDS[index % len(PRACTICE_WORDS)]
        if kind == "institutional":
            specialty, taxonomy = "hospital", HOSPITAL_TAXONOMY
            name = f"{word.upper()} COMMUNITY HOSPITAL"
            providers = tuple(self.provider(rng.choice(ATTENDING_TAXONOMIES)) for _ in range(4))
        else:
            specialty = sorted(PROFESSIONAL_SPECIALTIES)[index % len(PROFESSIONAL_SPECIALTIES)]
            taxonomy = PROFESSIONAL_SPECIALTIES[specialty][0]
            name = f"{word.upper()} {specialty.upper()} ASSOCIATES"
            providers = tuple(self.provider(taxonomy) for _ in range(rng.randint(2, 5)))
        return SyntheticClient(
            code=f"C{index + 1:02d}",
            name=name,
            kind=kind,
            specialty=specialty,
            npi=synthetic_npi(rng),
            tax_id=synthetic_ein(rng),
            taxonomy=taxonomy,
            address=self.address(nine_digit=True),
            providers=providers,
        )

    def payers(self) -> tuple[SyntheticPayer, ...]:
        return tuple(
            SyntheticPayer(
                name=name,
                payer_id=payer_id,
                filing_indicator=filing,
                member_prefix=prefix,
                address=self.address(nine_digit=True),
                phone=synthetic_phone(self.rng),
                tax_id=synthetic_ein(self.rng),
            )
            for name, payer_id, filing, prefix in PAYERS
        )

    def patient(self, number: int, clients: int, payers: int) -> SyntheticPatient:
        rng = self.rng
        roll = rng.random()
        if roll < 0.03:
            person = self.person(min_age=90, max_age=103)
        elif roll < 0.18:
            person = self.person(min_age=0, max_age=17)
        else:
            person = self.person(min_age=18, max_age=89)
        age = (self.as_of - person.birth_date).days // 365
        subscriber, relationship = None, ""
        if age < 18:
            subscriber = self.person(min_age=age + 20, max_age=age + 45)
            subscriber = SyntheticPerson(
                subscriber.name, subscriber.birth_date, subscriber.sex, person.address,
                subscriber.ssn,
            )  # fmt: skip
            relationship = "19"
        elif age < 65 and rng.random() < 0.12:
            subscriber = self.person(min_age=max(age - 5, 18), max_age=age + 5)
            subscriber = SyntheticPerson(
                subscriber.name, subscriber.birth_date, subscriber.sex, person.address,
                subscriber.ssn,
            )  # fmt: skip
            relationship = "01"
        payer_index = rng.randrange(payers)
        prefix = PAYERS[payer_index][3]
        return SyntheticPatient(
            patient_id=f"SYN{number:07d}",
            person=person,
            client_index=rng.randrange(clients),
            payer_index=payer_index,
            member_id=f"{prefix}{rng.randrange(10**9):09d}",
            group_number=f"G{rng.randrange(10**6):06d}" if rng.random() < 0.7 else "",
            subscriber=subscriber,
            relationship=relationship,
        )


@cache
def icd10_pools() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(common, all) billable ICD-10-CM codes from simple_icd_10_cm, without dots, sorted.

    Billable means a leaf of the code tree. Loading the package takes about a second, so
    it happens once per process and only when synthetic data is made.
    """
    with warnings.catch_warnings():  # the package uses deprecated importlib.resources calls
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd  # type: ignore[import-untyped]

        codes = icd.get_all_codes()
    leaves = sorted(c.replace(".", "") for c in codes if icd.is_leaf(c))
    common = tuple(c for c in leaves if c[:3] in COMMON_ICD_CATEGORIES)
    return common, tuple(leaves)
