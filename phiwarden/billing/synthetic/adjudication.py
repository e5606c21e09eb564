"""How a made-up payer pays a submission: paid, partly paid, denied, pending, and a few
payments for claims that PHI Warden never sent (unmatched 835s).

Every claim payment balances: charge - adjustments = paid, at the claim and line level, and
BPR02 = the claims paid - the provider-level (PLB) adjustments.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from phiwarden.billing.synthetic.people import SyntheticPayer, synthetic_ein
from phiwarden.billing.synthetic.reference import DENIALS, LINE_DENIALS
from phiwarden.billing.x12.models import (
    Adjustment,
    BankAccount,
    Claim,
    ClaimPayment,
    FunctionalGroup,
    Interchange,
    Payee835,
    Payer835,
    Procedure,
    ProviderAdjustment,
    ProviderAdjustmentItem,
    Remittance,
    RemittanceItem,
    ServiceLine,
    ServicePayment,
)

CENT = Decimal("0.01")
# SBR09 (837) -> CLP06 (835): the 835 has its own code list (12 = PPO, 15 = indemnity).
CLP06_BY_SBR09 = {"CI": "12", "BL": "12", "HM": "HM", "MB": "MB", "MC": "MC"}
ZERO = Decimal("0.00")


@dataclass(slots=True)
class _Outcome:
    claim: Claim
    status: str
    adjustments: tuple[Adjustment, ...]
    remarks: tuple[str, ...]
    services: tuple[ServicePayment, ...]
    paid: Decimal
    patient_share: Decimal


def _line_paid(line: ServiceLine, rng: random.Random, filing: str) -> ServicePayment:
    """Allowed = a share of the charge; the patient owes deductible/coinsurance/copay."""
    allowed = (line.charge * Decimal(rng.randint(45, 85)) / 100).quantize(CENT)
    adjustments = [Adjustment("CO", "45", line.charge - allowed)]
    patient = ZERO
    roll = rng.random()
    if roll < 0.15:
        patient = min(allowed, Decimal(rng.choice((20, 30, 40))))
        adjustments.append(Adjustment("PR", "3", patient))
    elif roll < 0.35:
        patient = (allowed * Decimal("0.2")).quantize(CENT)
        adjustments.append(Adjustment("PR", "2", patient))
    elif roll < 0.45:
        patient = (allowed * Decimal(rng.randint(30, 100)) / 100).quantize(CENT)
        adjustments.append(Adjustment("PR", "1", patient))
    paid = allowed - patient
    if filing == "MB" and paid > 0:  # Medicare sequestration, 2% of the payment
        sequestration = (paid * Decimal("0.02")).quantize(CENT)
        adjustments.insert(1, Adjustment("CO", "253", sequestration))
        paid -= sequestration
    return _service(line, paid, tuple(adjustments), allowed, ())


def _line_denied(line: ServiceLine, rng: random.Random) -> ServicePayment:
    carc, rarc, group = rng.choice(LINE_DENIALS)
    remarks = (rarc,) if rarc else ()
    return _service(line, ZERO, (Adjustment(group, carc, line.charge),), ZERO, remarks)


def _service(
    line: ServiceLine,
    paid: Decimal,
    adjustments: tuple[Adjustment, ...],
    allowed: Decimal,
    remarks: tuple[str, ...],
) -> ServicePayment:
    procedure = line.procedure
    if procedure is None:  # an 837I line billed by revenue code alone
        procedure = Procedure("NU", line.revenue_code)
        revenue = ""
    else:
        revenue = line.revenue_code
    return ServicePayment(
        procedure=procedure,
        charge=line.charge,
        paid=paid,
        revenue_code=revenue,
        units=line.units if line.units != 1 else None,
        service_date=line.service_date,
        service_date_end=None,
        adjustments=adjustments,
        line_control_number=line.line_control_number,
        allowed_amount=allowed,
        remark_codes=remarks,
    )


def _outcome(claim: Claim, rng: random.Random) -> _Outcome | None:
    roll = rng.random()
    if roll < 0.08:
        return None  # still pending: no 835 yet
    filing = claim.subscriber.claim_filing_indicator
    if roll < 0.20:
        carc, rarc, group = rng.choice(DENIALS)
        adjustment = Adjustment(group, carc, claim.total_charge)
        patient = claim.total_charge if group == "PR" else ZERO
        remarks = (rarc,) if rarc else ()
        return _Outcome(claim, "4", (adjustment,), remarks, (), ZERO, patient)
    partial = roll < 0.35 and len(claim.service_lines) > 1
    services = []
    for index, line in enumerate(claim.service_lines):
        if partial and index == len(claim.service_lines) - 1:
            services.append(_line_denied(line, rng))
        else:
            services.append(_line_paid(line, rng, filing))
    paid = sum((s.paid for s in services), ZERO)
    patient = sum((a.amount for s in services for a in s.adjustments if a.group_code == "PR"), ZERO)
    return _Outcome(claim, "1", (), (), tuple(services), paid, patient)


def _orphan(like: Claim, rng: random.Random, serial: int) -> _Outcome:
    """A payment for a claim that was never sent from here (wrong provider, old system)."""
    charge = Decimal(rng.randint(60, 400))
    paid = (charge * Decimal("0.6")).quantize(CENT)
    orphan = Claim(
        transaction=like.transaction,
        billing_provider=like.billing_provider,
        subscriber=like.subscriber,
        patient=like.patient,
        patient_control_number=f"UNMATCHED{serial:06d}",
        total_charge=charge,
        facility_code=like.facility_code,
        facility_code_qualifier=like.facility_code_qualifier,
        frequency_code="1",
        provider_signature="",
        assignment="A",
        benefits_assigned="Y",
        release_of_information="Y",
        diagnoses=(),
    )
    adjustment = Adjustment("CO", "45", charge - paid)
    return _Outcome(orphan, "1", (adjustment,), (), (), paid, ZERO)


def adjudicate(
    claims: Sequence[Claim],
    *,
    payers: Sequence[SyntheticPayer],
    rng: random.Random,
    interchange: Interchange,
    group: FunctionalGroup,
    set_numbers: dict[str, int],
    as_of: dt.date,
) -> list[RemittanceItem]:
    """One 835 transaction set per payer that paid something in this submission."""
    by_payer: dict[str, list[_Outcome]] = {}
    for claim in claims:
        outcome = _outcome(claim, rng)
        if outcome is not None:
            by_payer.setdefault(claim.subscriber.payer_id, []).append(outcome)
    items: list[RemittanceItem] = []
    payer_by_id = {p.payer_id: p for p in payers}
    for payer_id, outcomes in by_payer.items():
        set_numbers["835"] += 1
        if set_numbers["835"] % 4 == 0:  # every fourth remittance pays one claim not sent
            outcomes.append(_orphan(outcomes[0].claim, rng, set_numbers["835"]))
        items += _remittance(
            outcomes, payer_by_id[payer_id], rng, interchange, group, set_numbers["835"], as_of
        )
    return items


def _remittance(
    outcomes: list[_Outcome],
    payer: SyntheticPayer,
    rng: random.Random,
    interchange: Interchange,
    group: FunctionalGroup,
    number: int,
    as_of: dt.date,
) -> list[RemittanceItem]:
    provider = outcomes[0].claim.billing_provider
    paid = sum((o.paid for o in outcomes), ZERO)
    plb: tuple[ProviderAdjustmentItem, ...] = ()
    if paid > 100 and rng.random() < 0.1:
        recoup = (paid * Decimal("0.1")).quantize(CENT)
        plb = (ProviderAdjustmentItem("WO", f"{rng.randrange(10**13):013d}", recoup),)
    total = paid - sum((p.amount for p in plb), ZERO)
    payment_date = as_of - dt.timedelta(days=rng.randint(0, 10))
    eft = rng.random() < 0.7 and total > 0
    remittance = Remittance(
        interchange=interchange,
        group=group,
        control_number=f"{number:04d}",
        handling_code="I",
        amount=total,
        credit_debit="C",
        method="ACH" if eft else ("CHK" if total > 0 else "NON"),
        format="CCP" if eft else "",
        payer_account=_bank_account(rng) if eft else None,
        originating_company_id=f"1{payer.tax_id}" if eft else "",
        payee_account=_bank_account(rng) if eft else None,
        payment_date=payment_date,
        trace_number=f"{rng.randrange(10**10):010d}",
        trace_originator=f"1{payer.tax_id}",
        production_date=payment_date,
        payer=Payer835(
            name=payer.name,
            id_qualifier="XV",
            id=payer.payer_id,
            address=payer.address,
            contact_name="EDI SUPPORT",
            contact_phone=payer.phone,
        ),
        payee=Payee835(
            name=provider.name.last,
            id_qualifier="XX",
            id=provider.npi,
            tax_id=provider.tax_id or synthetic_ein(rng),
        ),
    )
    items: list[RemittanceItem] = [
        _claim_payment(remittance, outcome, rng, as_of) for outcome in outcomes
    ]
    if plb:
        fiscal = dt.date(as_of.year, 12, 31)
        items.append(ProviderAdjustment(remittance, provider.npi, fiscal, plb))
    return items


def _bank_account(rng: random.Random) -> BankAccount:
    """A made-up account; routing numbers starting with 9 are never valid ABA numbers."""
    return BankAccount("01", f"9{rng.randrange(10**8):08d}", "DA", f"{rng.randrange(10**10):010d}")


def _claim_payment(
    remittance: Remittance, outcome: _Outcome, rng: random.Random, as_of: dt.date
) -> ClaimPayment:
    claim = outcome.claim
    subscriber, patient = claim.subscriber, claim.patient
    first_line = claim.service_lines[0] if claim.service_lines else None
    received = first_line.service_date if first_line and first_line.service_date else as_of
    return ClaimPayment(
        remittance=remittance,
        header_number=1,
        patient_control_number=claim.patient_control_number,
        status=outcome.status,
        charge=claim.total_charge,
        paid=outcome.paid,
        patient_responsibility=outcome.patient_share or None,
        claim_filing_indicator=CLP06_BY_SBR09.get(subscriber.claim_filing_indicator, "ZZ"),
        payer_claim_control_number=f"{as_of:%y}{rng.randrange(10**11):011d}",
        facility_code=claim.facility_code,
        frequency_code=claim.frequency_code,
        patient_name=patient.name if patient else subscriber.name,
        patient_id_qualifier="MI",
        patient_id=subscriber.member_id,
        insured_name=subscriber.name if patient else None,
        insured_id=subscriber.member_id if patient else "",
        adjustments=outcome.adjustments,
        remark_codes=outcome.remarks,
        statement_from=claim.statement_from,
        statement_to=claim.statement_to,
        received_date=received + dt.timedelta(days=rng.randint(2, 9)),
        services=outcome.services,
    )
