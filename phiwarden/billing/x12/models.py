"""Typed, immutable values for what PHI Warden reads from 837P, 837I and 835 files.

These are plain dataclasses, not Django models: the parsers yield them one claim at a time
and the billing services decide what to store (encrypted) and what to drop. Many fields are
PHI (see /shared/reference/x12-phi-map.md); never log or `repr()` them into messages.

Conventions: amounts are `Decimal`; dates are `datetime.date`; "" means an element that was
absent or empty and `None` a segment that was absent; codes keep their X12 spelling (ICD-10
codes without the dot, "J450").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

ClaimKind = Literal["837P", "837I"]


@dataclass(frozen=True, slots=True)
class Interchange:
    """The ISA envelope: who sent the file to whom, and whether it is test data."""

    sender_qualifier: str  # ISA05
    sender_id: str  # ISA06, trailing padding removed
    receiver_qualifier: str  # ISA07
    receiver_id: str  # ISA08
    date: dt.date  # ISA09 (YYMMDD, read as 20YY)
    time: dt.time  # ISA10
    control_number: str  # ISA13
    acknowledgment_requested: bool  # ISA14
    usage_indicator: str  # ISA15: "P" production, "T" test


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    """The GS envelope; `version` (GS08) names the implementation guide."""

    functional_id: str  # GS01: HC (837) or HP (835)
    sender_code: str  # GS02
    receiver_code: str  # GS03
    date: dt.date  # GS04
    time: dt.time  # GS05
    control_number: str  # GS06
    version: str  # GS08, e.g. 005010X222A1


@dataclass(frozen=True, slots=True)
class Name:
    """An NM1 name: a person (entity type "1") or an organisation ("2", `last` only)."""

    last: str  # NM103 (organisation name when entity_type is "2")
    first: str = ""  # NM104
    middle: str = ""  # NM105
    suffix: str = ""  # NM107
    entity_type: str = "1"  # NM102


@dataclass(frozen=True, slots=True)
class Address:
    """N3 + N4."""

    line1: str
    line2: str
    city: str
    state: str
    postal_code: str
    country: str = ""  # N404, only outside the United States


@dataclass(frozen=True, slots=True)
class ProviderRef:
    """A rendering (NM1*82) or attending (NM1*71) provider on a claim."""

    name: Name
    npi: str  # NM109 with NM108 = XX
    taxonomy: str = ""  # PRV03


@dataclass(frozen=True, slots=True)
class TransactionSet837:
    """ST + BHT + submitter (1000A) + receiver (1000B) of one 837 transaction set."""

    interchange: Interchange
    group: FunctionalGroup
    kind: ClaimKind
    control_number: str  # ST02
    purpose: str  # BHT02 (00 original, 18 reissue)
    reference: str  # BHT03
    created_date: dt.date  # BHT04
    created_time: dt.time  # BHT05
    claim_or_encounter: str  # BHT06: CH chargeable, RP reporting (encounter)
    submitter_name: Name  # NM1*41
    submitter_id: str  # NM109 (qualifier 46)
    contact_name: str  # PER02
    contact_phone: str  # PER04 with PER03 = TE
    receiver_name: str  # NM1*40 NM103
    receiver_id: str  # NM109 (qualifier 46)


@dataclass(frozen=True, slots=True)
class BillingProvider:
    """Loop 2000A/2010AA."""

    name: Name
    npi: str  # NM109, NM108 = XX
    tax_id: str  # REF*EI (an EIN) or REF*SY (the provider's own SSN: sensitive)
    tax_id_qualifier: str  # EI or SY
    address: Address
    taxonomy: str = ""  # PRV*BI PRV03


@dataclass(frozen=True, slots=True)
class Subscriber:
    """Loop 2000B/2010BA/2010BB: the insured person and the payer that is billed."""

    payer_responsibility: str  # SBR01: P, S, T, ...
    relationship: str  # SBR02: "18" when the subscriber is the patient, else ""
    group_number: str  # SBR03
    group_name: str  # SBR04 (often the employer)
    claim_filing_indicator: str  # SBR09: CI, MB, MC, BL, ...
    name: Name  # NM1*IL
    member_id_qualifier: str  # NM108: MI or II
    member_id: str  # NM109
    address: Address | None  # N3/N4
    birth_date: dt.date | None  # DMG02
    sex: str  # DMG03: F, M, U
    ssn: str  # REF*SY ("" when absent)
    payer_name: str  # NM1*PR NM103
    payer_id_qualifier: str  # NM108: PI or XV
    payer_id: str  # NM109


@dataclass(frozen=True, slots=True)
class Patient:
    """Loop 2000C/2010CA, present only when the patient is not the subscriber."""

    relationship: str  # PAT01: 01 spouse, 19 child, 20 employee, G8 other, ...
    name: Name  # NM1*QC
    address: Address
    birth_date: dt.date  # DMG02
    sex: str  # DMG03


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One HI composite: qualifier (ABK principal, ABF other, ABJ admitting, APR reason for
    visit; BK/BF/BJ/PR for ICD-9) and the code without its dot."""

    qualifier: str
    code: str


@dataclass(frozen=True, slots=True)
class Procedure:
    """A procedure composite (SV101, SV202, SVC01): HC (CPT/HCPCS), AD (dental), ..."""

    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """Loop 2400: LX + SV1 (837P) or SV2 (837I) + DTP*472 + REF*6R."""

    number: int  # LX01
    procedure: Procedure | None  # SV101 / SV202 (optional on 837I when a revenue code suffices)
    revenue_code: str  # SV201, 837I only
    charge: Decimal  # SV102 / SV203
    unit_basis: str  # SV103 / SV204: UN units, MJ minutes, DA days
    units: Decimal  # SV104 / SV205
    place_of_service: str  # SV105, when it differs from the claim's
    diagnosis_pointers: tuple[int, ...]  # SV107, 837P only
    service_date: dt.date | None  # DTP*472 (D8, or the start of RD8)
    service_date_end: dt.date | None  # end of an RD8 range
    line_control_number: str  # REF*6R, echoed in the 835 SVC loop


@dataclass(frozen=True, slots=True)
class Claim:
    """Loop 2300 with its service lines and every loop above it.

    `transaction`, `billing_provider`, `subscriber` and `patient` are shared by the claims of
    the same loop (the parser yields the same objects), so one claim costs only its own data.
    """

    transaction: TransactionSet837
    billing_provider: BillingProvider
    subscriber: Subscriber
    patient: Patient | None  # None: the subscriber is the patient
    patient_control_number: str  # CLM01 (an account number: PHI)
    total_charge: Decimal  # CLM02
    facility_code: str  # CLM05-1: place of service (837P) or type of bill facility (837I)
    facility_code_qualifier: str  # CLM05-2: B (837P) or A (837I)
    frequency_code: str  # CLM05-3: 1 original, 7 replacement, 8 void
    provider_signature: str  # CLM06 (837P)
    assignment: str  # CLM07
    benefits_assigned: str  # CLM08
    release_of_information: str  # CLM09
    diagnoses: tuple[Diagnosis, ...]  # HI, in file order
    onset_date: dt.date | None = None  # DTP*431
    statement_from: dt.date | None = None  # DTP*434 (837I)
    statement_to: dt.date | None = None
    admission_date: dt.date | None = None  # DTP*435 (D8, or DT with a time)
    admission_time: dt.time | None = None
    discharge_time: dt.time | None = None  # DTP*096 (TM)
    admission_type: str = ""  # CL1-01 (837I)
    admission_source: str = ""  # CL1-02
    patient_status: str = ""  # CL1-03 (discharge status)
    prior_authorization: str = ""  # REF*G1
    payer_claim_control_number: str = ""  # REF*F8 (on replacements and voids)
    medical_record_number: str = ""  # REF*EA
    rendering_provider: ProviderRef | None = None  # 2310B NM1*82 (837P)
    attending_provider: ProviderRef | None = None  # 2310A NM1*71 (837I)
    service_lines: tuple[ServiceLine, ...] = ()

    @property
    def kind(self) -> ClaimKind:
        return self.transaction.kind


@dataclass(frozen=True, slots=True)
class BankAccount:
    """BPR06-09 (payer) or BPR12-15 (payee): financial PII, masked outside posting."""

    dfi_qualifier: str  # 01 ABA routing number
    dfi_number: str
    account_qualifier: str  # DA demand deposit
    account_number: str


@dataclass(frozen=True, slots=True)
class Payer835:
    """Loop 1000A: the payer and its technical contact (PER*BL)."""

    name: str  # N102
    id_qualifier: str  # N103 (XV), "" when absent
    id: str  # N104
    address: Address
    contact_name: str  # PER*BL PER02
    contact_phone: str  # PER*BL, TE number


@dataclass(frozen=True, slots=True)
class Payee835:
    """Loop 1000B: the provider that is paid."""

    name: str  # N102
    id_qualifier: str  # N103: XX (NPI), FI (TIN)
    id: str  # N104
    tax_id: str  # REF*TJ, "" when absent


@dataclass(frozen=True, slots=True)
class Remittance:
    """One 835 transaction set's header: the payment (BPR/TRN), payer and payee."""

    interchange: Interchange
    group: FunctionalGroup
    control_number: str  # ST02
    handling_code: str  # BPR01: I remittance + payment, H notification only, ...
    amount: Decimal  # BPR02 total actual provider payment
    credit_debit: str  # BPR03: C or D
    method: str  # BPR04: ACH, CHK, NON, BOP, FWT
    format: str  # BPR05: CCP, CTX or ""
    payer_account: BankAccount | None  # BPR06-09
    originating_company_id: str  # BPR10
    payee_account: BankAccount | None  # BPR12-15
    payment_date: dt.date  # BPR16
    trace_number: str  # TRN02 (check or EFT trace number)
    trace_originator: str  # TRN03
    production_date: dt.date | None  # DTM*405
    payer: Payer835
    payee: Payee835


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triple: group code (CO, PR, OA, PI, CR), CARC reason, amount, quantity."""

    group_code: str
    reason_code: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ServicePayment:
    """Loop 2110: SVC + DTM + CAS + REF*6R + AMT*B6 + LQ*HE."""

    procedure: Procedure  # SVC01
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    revenue_code: str  # SVC04 (NUBC revenue code, institutional)
    units: Decimal | None  # SVC05
    service_date: dt.date | None  # DTM*472, or DTM*150 with `service_date_end` from DTM*151
    service_date_end: dt.date | None
    adjustments: tuple[Adjustment, ...]
    line_control_number: str  # REF*6R, from the 837 line
    allowed_amount: Decimal | None  # AMT*B6
    remark_codes: tuple[str, ...]  # LQ*HE (RARC)


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """Loop 2100: how the payer adjudicated one claim (CLP and what follows it)."""

    remittance: Remittance
    header_number: int | None  # LX01 of the enclosing 2000 loop
    patient_control_number: str  # CLP01 = the 837's CLM01
    status: str  # CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 22 reversal
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal | None  # CLP05
    claim_filing_indicator: str  # CLP06
    payer_claim_control_number: str  # CLP07
    facility_code: str  # CLP08
    frequency_code: str  # CLP09
    patient_name: Name  # NM1*QC
    patient_id_qualifier: str  # NM108: MI, II, 34 (an SSN!), HN, MR
    patient_id: str  # NM109
    insured_name: Name | None  # NM1*IL
    insured_id: str
    adjustments: tuple[Adjustment, ...]  # claim-level CAS
    remark_codes: tuple[str, ...]  # MOA03-07 (RARC)
    statement_from: dt.date | None  # DTM*232
    statement_to: dt.date | None  # DTM*233
    received_date: dt.date | None  # DTM*050
    services: tuple[ServicePayment, ...]


@dataclass(frozen=True, slots=True)
class ProviderAdjustmentItem:
    """One PLB03/PLB04 pair: reason (WO, L6, FB, 72, ...), reference, amount."""

    reason_code: str
    reference: str  # often the CLP07/CLP01 of a recouped claim: PHI-adjacent
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB segment: adjustments not tied to a claim (positive amounts reduce payment)."""

    remittance: Remittance
    provider_id: str  # PLB01
    fiscal_period_date: dt.date  # PLB02
    items: tuple[ProviderAdjustmentItem, ...]  # one to six


RemittanceItem = ClaimPayment | ProviderAdjustment
ParsedItem = Claim | ClaimPayment | ProviderAdjustment


# --- Faster construction ------------------------------------------------------------------
#
# A frozen dataclass's generated __init__ sets each field with
# `__dataclass_builtins_object__.__setattr__(self, "name", name)`: a global and an attribute
# lookup per field. The __init__ below does the same (positional or keyword arguments, the
# same defaults, `object.__setattr__` per field, so the values stay frozen) with
# `object.__setattr__` bound once: a 31-field Claim is built ~35 % faster, and the full
# parse of the 5,000-claim benchmark file takes ~8 % less time (docs/benchmarks.md).


def _faster_init(cls: type[Any]) -> None:
    params: list[str] = []
    lines: list[str] = []
    namespace: dict[str, Any] = {"_set": object.__setattr__}
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING or not f.init:  # pragma: no cover
            raise TypeError(f"{cls.__name__}.{f.name}: only plain defaults are supported")
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        lines.append(f"    _set(self, {f.name!r}, {f.name})\n")
    source = f"def __init__(self, {', '.join(params)}):\n{''.join(lines)}"
    exec(source, namespace)  # noqa: S102  (fixed text built from the field names above)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init


for _model in [
    value
    for value in list(globals().values())
    if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == __name__
]:
    _faster_init(_model)
del _model
