"""835 (005010X221A1) transaction sets into `ClaimPayment`s and `ProviderAdjustment`s.

Claim payments are yielded as each 2100 loop closes; the payment header (`Remittance`) is
built once, at the first CLP or PLB, and shared by everything the transaction set yields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from phiwarden.billing.x12 import values as v
from phiwarden.billing.x12.errors import ErrorCode, X12Error
from phiwarden.billing.x12.models import (
    Adjustment,
    BankAccount,
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
    ServicePayment,
)
from phiwarden.billing.x12.reader import Segment


def adjustments(segment: Segment) -> list[Adjustment]:
    """The one to six (reason, amount, quantity) triples of a CAS segment."""
    group = v.required(segment, 1)
    found = []
    for position in range(2, 20, 3):
        if not segment.get(position):
            continue
        found.append(
            Adjustment(
                group_code=group,
                reason_code=segment.get(position),
                amount=v.number(segment, position + 1),
                quantity=v.optional_number(segment, position + 2),
            )
        )
    return found


@dataclass(slots=True)
class _Service:
    svc: Segment
    dates: dict[str, Segment] = field(default_factory=dict)
    adjustments: list[Adjustment] = field(default_factory=list)
    control_number: str = ""
    allowed: Segment | None = None
    remarks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ClaimDraft:
    clp: Segment
    header_number: int | None
    patient: Segment | None = None
    insured: Segment | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    dates: dict[str, Segment] = field(default_factory=dict)
    services: list[_Service] = field(default_factory=list)


class Parser835:
    """Feed the segments of one 835 transaction set (after ST, through SE)."""

    def __init__(
        self, st: Segment, *, interchange: Interchange, group: FunctionalGroup, component: str
    ) -> None:
        self.st = st
        self.interchange = interchange
        self.group = group
        self.component = component
        self.header: dict[str, Segment] = {}
        self.payer: dict[str, Segment] = {}
        self.payee: dict[str, Segment] = {}
        self.area = "header"
        self.remittance: Remittance | None = None
        self.header_number: int | None = None
        self.claim: _ClaimDraft | None = None
        self.service: _Service | None = None
        self.pending: ProviderAdjustment | None = None  # a PLB that closed a claim

    def feed(self, segment: Segment) -> RemittanceItem | None:
        sid = segment.elements[0]
        if sid in ("CLP", "LX", "PLB", "SE"):
            done = self._finish_claim()
            if sid == "CLP":
                self._remittance(segment)
                self.claim = _ClaimDraft(segment, self.header_number)
                self.area, self.service = "claim", None
            elif sid == "LX":
                self.header_number = v.integer(segment, 1)
                self.area = "lx"
            elif sid == "PLB":
                if done is None:
                    return self._plb(segment)
                self.pending = self._plb(segment)
            return done
        area = self.area
        if area == "header":
            self._header(segment)
        elif area == "payer" or area == "payee":
            self._party(segment)
        elif area == "claim" and self.claim is not None:
            self._claim_segment(segment, self.claim)
        elif area == "service" and self.service is not None:
            self._service_segment(segment, self.service)
        return None

    def _header(self, segment: Segment) -> None:
        sid = segment.elements[0]
        if sid == "N1":
            self._party(segment)
        elif sid == "DTM" and segment.get(1) != "405":
            return
        else:
            self.header.setdefault(sid, segment)

    def _party(self, segment: Segment) -> None:
        sid = segment.elements[0]
        if sid == "N1":
            qualifier = segment.get(1)
            self.area = "payer" if qualifier == "PR" else "payee" if qualifier == "PE" else "other"
        target = self.payer if self.area == "payer" else self.payee if self.area == "payee" else {}
        key = sid + segment.get(1) if sid in ("REF", "PER") else sid
        target.setdefault(key, segment)

    def _claim_segment(self, segment: Segment, claim: _ClaimDraft) -> None:
        sid = segment.elements[0]
        if sid == "SVC":
            self.service = _Service(segment)
            claim.services.append(self.service)
            self.area = "service"
        elif sid == "CAS":
            claim.adjustments.extend(adjustments(segment))
        elif sid == "NM1":
            qualifier = segment.get(1)
            if qualifier == "QC" and claim.patient is None:
                claim.patient = segment
            elif qualifier == "IL" and claim.insured is None:
                claim.insured = segment
        elif sid == "MOA":
            claim.remarks.extend(r for r in segment.elements[3:8] if r)
        elif sid == "DTM":
            claim.dates.setdefault(segment.get(1), segment)

    def _service_segment(self, segment: Segment, service: _Service) -> None:
        sid = segment.elements[0]
        if sid == "SVC":
            if self.claim is not None:
                self._claim_segment(segment, self.claim)
        elif sid == "CAS":
            service.adjustments.extend(adjustments(segment))
        elif sid == "DTM":
            service.dates.setdefault(segment.get(1), segment)
        elif sid == "REF" and segment.get(1) == "6R":
            service.control_number = segment.get(2)
        elif sid == "AMT" and segment.get(1) == "B6":
            service.allowed = segment
        elif sid == "LQ" and segment.get(1) == "HE":
            service.remarks.append(segment.get(2))

    # -- freezing ---------------------------------------------------------------------------

    def _remittance(self, at: Segment) -> Remittance:
        if self.remittance is not None:
            return self.remittance
        bpr, trn = self.header.get("BPR"), self.header.get("TRN")
        if bpr is None or trn is None:
            raise X12Error(at.number, ErrorCode.STRUCTURE, "BPR and TRN must precede claims")
        payer_n1, payee_n1 = self.payer.get("N1"), self.payee.get("N1")
        if payer_n1 is None or payee_n1 is None:
            raise X12Error(at.number, ErrorCode.STRUCTURE, "N1*PR and N1*PE must precede claims")
        production = self.header.get("DTM")
        self.remittance = Remittance(
            interchange=self.interchange,
            group=self.group,
            control_number=self.st.get(2),
            handling_code=bpr.get(1),
            amount=v.number(bpr, 2),
            credit_debit=bpr.get(3),
            method=bpr.get(4),
            format=bpr.get(5),
            payer_account=_account(bpr, 6),
            originating_company_id=bpr.get(10),
            payee_account=_account(bpr, 12),
            payment_date=v.date(bpr, 16),
            trace_number=trn.get(2),
            trace_originator=trn.get(3),
            production_date=v.date(production, 2) if production else None,
            payer=self._payer(payer_n1),
            payee=Payee835(
                name=payee_n1.get(2),
                id_qualifier=payee_n1.get(3),
                id=payee_n1.get(4),
                tax_id=self.payee["REFTJ"].get(2) if "REFTJ" in self.payee else "",
            ),
        )
        return self.remittance

    def _payer(self, n1: Segment) -> Payer835:
        n4 = self.payer.get("N4")
        if n4 is None:
            raise X12Error(n1.number, ErrorCode.STRUCTURE, "payer N4 is missing")
        contact = self.payer.get("PERBL")
        return Payer835(
            name=n1.get(2),
            id_qualifier=n1.get(3),
            id=n1.get(4),
            address=v.address(self.payer.get("N3"), n4),
            contact_name=contact.get(2) if contact else "",
            contact_phone=v.first_phone(contact) if contact else "",
        )

    def _plb(self, segment: Segment) -> ProviderAdjustment:
        items = []
        for position in range(3, 15, 2):
            composite = segment.get(position)
            if not composite:
                continue
            reason, _, reference = composite.partition(self.component)
            items.append(
                ProviderAdjustmentItem(
                    reason_code=reason, reference=reference, amount=v.number(segment, position + 1)
                )
            )
        self.area = "plb"
        return ProviderAdjustment(
            remittance=self._remittance(segment),
            provider_id=v.required(segment, 1),
            fiscal_period_date=v.date(segment, 2),
            items=tuple(items),
        )

    def _finish_claim(self) -> ClaimPayment | None:
        draft = self.claim
        if draft is None:
            return None
        self.claim, self.service = None, None
        clp, patient, insured = draft.clp, draft.patient, draft.insured
        if patient is None:
            raise X12Error(clp.number, ErrorCode.STRUCTURE, "CLP has no patient NM1*QC")
        received = draft.dates.get("050")
        return ClaimPayment(
            remittance=self._remittance(clp),
            header_number=draft.header_number,
            patient_control_number=v.required(clp, 1),
            status=v.required(clp, 2),
            charge=v.number(clp, 3),
            paid=v.number(clp, 4),
            patient_responsibility=v.optional_number(clp, 5),
            claim_filing_indicator=clp.get(6),
            payer_claim_control_number=clp.get(7),
            facility_code=clp.get(8),
            frequency_code=clp.get(9),
            patient_name=v.name(patient),
            patient_id_qualifier=patient.get(8),
            patient_id=patient.get(9),
            insured_name=v.name(insured) if insured else None,
            insured_id=insured.get(9) if insured else "",
            adjustments=tuple(draft.adjustments),
            remark_codes=tuple(draft.remarks),
            statement_from=_dtm(draft.dates, "232"),
            statement_to=_dtm(draft.dates, "233"),
            received_date=v.date(received, 2) if received else None,
            services=tuple(self._service(s) for s in draft.services),
        )

    def _service(self, service: _Service) -> ServicePayment:
        svc = service.svc
        composite = v.required(svc, 1).split(self.component)
        if len(composite) < 2 or not composite[1]:
            raise X12Error(svc.number, ErrorCode.MISSING_ELEMENT, "SVC01-2 is required")
        single = service.dates.get("472")
        start = service.dates.get("150")
        end = service.dates.get("151")
        return ServicePayment(
            procedure=Procedure(composite[0], composite[1], tuple(m for m in composite[2:6] if m)),
            charge=v.number(svc, 2),
            paid=v.number(svc, 3),
            revenue_code=svc.get(4),
            units=v.optional_number(svc, 5),
            service_date=v.date(single, 2) if single else v.date(start, 2) if start else None,
            service_date_end=v.date(end, 2) if end else None,
            adjustments=tuple(service.adjustments),
            line_control_number=service.control_number,
            allowed_amount=v.number(service.allowed, 2) if service.allowed else None,
            remark_codes=tuple(service.remarks),
        )


def _dtm(dates: dict[str, Segment], qualifier: str) -> dt.date | None:
    segment = dates.get(qualifier)
    return v.date(segment, 2) if segment else None


def _account(bpr: Segment, position: int) -> BankAccount | None:
    if not bpr.get(position):
        return None
    return BankAccount(
        dfi_qualifier=bpr.get(position),
        dfi_number=bpr.get(position + 1),
        account_qualifier=bpr.get(position + 2),
        account_number=bpr.get(position + 3),
    )


def parse_835_transaction(
    st: Segment,
    segments: Iterator[Segment],
    *,
    interchange: Interchange,
    group: FunctionalGroup,
    component: str,
) -> Iterator[RemittanceItem]:
    """Claim payments and provider adjustments of one 835; consumes `segments` through SE."""
    parser = Parser835(st, interchange=interchange, group=group, component=component)
    feed = parser.feed
    for segment in segments:
        item = feed(segment)
        if item is not None:
            yield item
            if parser.pending is not None:
                yield parser.pending
                parser.pending = None
        if segment.elements[0] == "SE":
            return
