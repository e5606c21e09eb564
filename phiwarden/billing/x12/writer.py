"""Write 837P, 837I and 835 files from the dataclasses in models.py.

The writers follow the data: a new ISA, GS or ST starts whenever a claim's interchange,
group or transaction set differs from the previous claim's, and the HL hierarchy is rebuilt
from each claim's billing provider, subscriber and patient. They count as they go, so SE01,
GE01 and IEA01 are right, and they stream: claims can come from a generator.

`parse_x12(write(x)) == x` holds for every value the writers accept (see the hypothesis
round-trip tests); values that cannot be written (a delimiter inside an element, a field
wider than the fixed-width ISA allows) raise `ValueError` naming the element, not its value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Protocol

from phiwarden.billing.x12.models import (
    Address,
    Adjustment,
    BankAccount,
    Claim,
    ClaimPayment,
    Diagnosis,
    FunctionalGroup,
    Interchange,
    Name,
    Procedure,
    ProviderAdjustment,
    ProviderRef,
    Remittance,
    RemittanceItem,
    ServiceLine,
    ServicePayment,
    TransactionSet837,
)
from phiwarden.billing.x12.reader import Delimiters

DEFAULT_DELIMITERS = Delimiters("*", "^", ":", "~")
_FLUSH_EVERY = 2000


class BinaryWritable(Protocol):
    def write(self, data: bytes, /) -> int: ...


def amount(value: Decimal) -> str:
    """An X12 R (decimal) value: no exponent, no plus sign."""
    return format(value, "f")


def date8(value: dt.date) -> str:
    return f"{value:%Y%m%d}"


def hhmm(value: dt.time) -> str:
    return f"{value:%H%M%S}" if value.second else f"{value:%H%M}"


def _same(a: object, b: object) -> bool:
    return a is b or a == b


class SegmentWriter:
    """Joins elements, drops trailing empty elements, counts segments, buffers output."""

    def __init__(
        self,
        stream: BinaryWritable,
        *,
        delimiters: Delimiters = DEFAULT_DELIMITERS,
        newline: bool = True,
    ) -> None:
        self.stream = stream
        self.delimiters = delimiters
        self.terminator = delimiters.segment + ("\n" if newline else "")
        self.buffer: list[str] = []
        self.st_count = 0
        self.interchange: Interchange | None = None
        self.group: FunctionalGroup | None = None
        self.groups = 0
        self.sets = 0
        self.st_control = ""

    def composite(self, *parts: str) -> str:
        parts_list = list(parts)
        while parts_list and not parts_list[-1]:
            parts_list.pop()
        text = self.delimiters.component.join(parts_list)
        if any(self.delimiters.component in p for p in parts_list):
            raise ValueError("a composite part contains the component separator")
        return text

    def segment(self, *elements: str) -> None:
        items = list(elements)
        while items and not items[-1]:
            items.pop()
        element, repetition, _, terminator = self.delimiters
        text = element.join(items)
        if (
            text.count(element) != len(items) - 1
            or terminator in text
            or (repetition and repetition in text and items[0] != "ISA")
            or not text.isprintable()
        ):
            raise ValueError(f"an element of {items[0]} contains a delimiter or control character")
        self.buffer.append(text)
        self.st_count += 1
        if len(self.buffer) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.buffer.append("")
            self.stream.write(self.terminator.join(self.buffer).encode("utf-8"))
            self.buffer = []

    # -- envelopes --------------------------------------------------------------------------

    def open_set(
        self, interchange: Interchange, group: FunctionalGroup, set_id: str, control: str
    ) -> None:
        """Start transaction set `set_id`, opening a new GS/ISA when they changed."""
        self.close_set()
        if self.interchange is None or not _same(self.interchange, interchange):
            self.close_interchange()
            self._isa(interchange)
        if self.group is None or not _same(self.group, group):
            self.close_group()
            self._gs(group)
        self.st_count = 0
        self.st_control = control
        self.sets += 1
        self.segment("ST", set_id, control, group.version if set_id == "837" else "")

    def close_set(self) -> None:
        if self.st_control:
            self.segment("SE", str(self.st_count + 1), self.st_control)
            self.st_control = ""

    def close_group(self) -> None:
        self.close_set()
        if self.group is not None:
            self.segment("GE", str(self.sets), self.group.control_number)
            self.group = None

    def close_interchange(self) -> None:
        self.close_group()
        if self.interchange is not None:
            self.segment("IEA", str(self.groups), self.interchange.control_number)
            self.interchange = None

    def finish(self) -> None:
        self.close_interchange()
        self.flush()

    def _isa(self, x: Interchange) -> None:
        fields = {
            "ISA05": (x.sender_qualifier, 2),
            "ISA06": (x.sender_id, 15),
            "ISA07": (x.receiver_qualifier, 2),
            "ISA08": (x.receiver_id, 15),
            "ISA13": (x.control_number, 9),
        }
        for label, (value, width) in fields.items():
            if len(value) > width or (label == "ISA13" and len(value) != width):
                raise ValueError(f"{label} does not fit its fixed width of {width}")
        d = self.delimiters
        self.segment(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            x.sender_qualifier.ljust(2),
            x.sender_id.ljust(15),
            x.receiver_qualifier.ljust(2),
            x.receiver_id.ljust(15),
            f"{x.date:%y%m%d}",
            f"{x.time:%H%M}",
            d.repetition or "U",
            "00501",
            x.control_number,
            "1" if x.acknowledgment_requested else "0",
            x.usage_indicator,
            d.component,
        )
        self.interchange = x
        self.groups = 0

    def _gs(self, g: FunctionalGroup) -> None:
        self.segment(
            "GS",
            g.functional_id,
            g.sender_code,
            g.receiver_code,
            date8(g.date),
            hhmm(g.time),
            g.control_number,
            "X",
            g.version,
        )
        self.group = g
        self.groups += 1
        self.sets = 0

    # -- shared segments --------------------------------------------------------------------

    def nm1(self, qualifier: str, name: Name, id_qualifier: str = "", id_: str = "") -> None:
        self.segment(
            "NM1",
            qualifier,
            name.entity_type,
            name.last,
            name.first,
            name.middle,
            "",
            name.suffix,
            id_qualifier if id_ else "",
            id_,
        )

    def address(self, address: Address) -> None:
        if address.line1 or address.line2:
            self.segment("N3", address.line1, address.line2)
        self.segment("N4", address.city, address.state, address.postal_code, address.country)

    def procedure(self, procedure: Procedure) -> str:
        return self.composite(procedure.qualifier, procedure.code, *procedure.modifiers)


# -- 837 -------------------------------------------------------------------------------------


class _Writer837:
    def __init__(self, out: SegmentWriter) -> None:
        self.out = out
        self.transaction: TransactionSet837 | None = None
        self.provider: object = None
        self.subscriber: object = None
        self.subscriber_has_patients = False
        self.patient: object = None
        self.hl = 0
        self.provider_hl = 0
        self.subscriber_hl = 0

    def claim(self, claim: Claim) -> None:
        if self.transaction is None or not _same(self.transaction, claim.transaction):
            self._header(claim.transaction)
        if not _same(self.provider, claim.billing_provider):
            self._provider(claim)
        has_patient = claim.patient is not None
        if not _same(self.subscriber, claim.subscriber) or (
            has_patient != self.subscriber_has_patients
        ):
            self._subscriber(claim)
        if claim.patient is not None and not _same(self.patient, claim.patient):
            self._patient(claim)
        self._clm(claim)
        for provider_qualifier, provider, role in (
            ("71", claim.attending_provider, "AT"),
            ("82", claim.rendering_provider, "PE"),
        ):
            if provider is not None:
                self._provider_ref(provider_qualifier, provider, role)
        for line in claim.service_lines:
            self._line(claim, line)

    def _header(self, t: TransactionSet837) -> None:
        out = self.out
        out.open_set(t.interchange, t.group, "837", t.control_number)
        out.segment(
            "BHT",
            "0019",
            t.purpose,
            t.reference,
            date8(t.created_date),
            hhmm(t.created_time),
            t.claim_or_encounter,
        )
        out.nm1("41", t.submitter_name, "46", t.submitter_id)
        if t.contact_name or t.contact_phone:
            out.segment(
                "PER", "IC", t.contact_name, "TE" if t.contact_phone else "", t.contact_phone
            )
        out.nm1("40", Name(t.receiver_name, entity_type="2"), "46", t.receiver_id)
        self.transaction = t
        self.hl = 0
        self.provider = self.subscriber = self.patient = None

    def _provider(self, claim: Claim) -> None:
        p = claim.billing_provider
        out = self.out
        self.hl += 1
        self.provider_hl = self.hl
        out.segment("HL", str(self.hl), "", "20", "1")
        if p.taxonomy:
            out.segment("PRV", "BI", "PXC", p.taxonomy)
        out.nm1("85", p.name, "XX", p.npi)
        out.address(p.address)
        if p.tax_id:
            out.segment("REF", p.tax_id_qualifier, p.tax_id)
        self.provider = p
        self.subscriber = self.patient = None

    def _subscriber(self, claim: Claim) -> None:
        s = claim.subscriber
        out = self.out
        self.hl += 1
        self.subscriber_hl = self.hl
        has_patient = claim.patient is not None
        out.segment("HL", str(self.hl), str(self.provider_hl), "22", "1" if has_patient else "0")
        out.segment(
            "SBR",
            s.payer_responsibility,
            s.relationship,
            s.group_number,
            s.group_name,
            "",
            "",
            "",
            "",
            s.claim_filing_indicator,
        )
        out.nm1("IL", s.name, s.member_id_qualifier, s.member_id)
        if s.address is not None:
            out.address(s.address)
        if s.birth_date is not None or s.sex:
            out.segment("DMG", "D8", date8(s.birth_date) if s.birth_date else "", s.sex)
        if s.ssn:
            out.segment("REF", "SY", s.ssn)
        out.nm1("PR", Name(s.payer_name, entity_type="2"), s.payer_id_qualifier, s.payer_id)
        self.subscriber = s
        self.subscriber_has_patients = has_patient
        self.patient = None

    def _patient(self, claim: Claim) -> None:
        p = claim.patient
        if p is None:  # pragma: no cover - the caller checks
            return
        out = self.out
        self.hl += 1
        out.segment("HL", str(self.hl), str(self.subscriber_hl), "23", "0")
        out.segment("PAT", p.relationship)
        out.nm1("QC", p.name)
        out.address(p.address)
        out.segment("DMG", "D8", date8(p.birth_date), p.sex)
        self.patient = p

    def _clm(self, c: Claim) -> None:
        out = self.out
        out.segment(
            "CLM",
            c.patient_control_number,
            amount(c.total_charge),
            "",
            "",
            out.composite(c.facility_code, c.facility_code_qualifier, c.frequency_code),
            c.provider_signature,
            c.assignment,
            c.benefits_assigned,
            c.release_of_information,
        )
        if c.discharge_time is not None:
            out.segment("DTP", "096", "TM", f"{c.discharge_time:%H%M}")
        if c.onset_date is not None:
            out.segment("DTP", "431", "D8", date8(c.onset_date))
        if c.statement_from is not None:
            if c.statement_to is not None:
                period = f"{date8(c.statement_from)}-{date8(c.statement_to)}"
                out.segment("DTP", "434", "RD8", period)
            else:
                out.segment("DTP", "434", "D8", date8(c.statement_from))
        if c.admission_date is not None:
            if c.admission_time is not None:
                stamp = date8(c.admission_date) + f"{c.admission_time:%H%M}"
                out.segment("DTP", "435", "DT", stamp)
            else:
                out.segment("DTP", "435", "D8", date8(c.admission_date))
        if c.admission_type or c.admission_source or c.patient_status:
            out.segment("CL1", c.admission_type, c.admission_source, c.patient_status)
        for qualifier, value in (
            ("G1", c.prior_authorization),
            ("F8", c.payer_claim_control_number),
            ("EA", c.medical_record_number),
        ):
            if value:
                out.segment("REF", qualifier, value)
        for chunk in _hi_segments(c.diagnoses, institutional=c.kind == "837I"):
            out.segment("HI", *(out.composite(d.qualifier, d.code) for d in chunk))

    def _provider_ref(self, qualifier: str, provider: ProviderRef, role: str) -> None:
        self.out.nm1(qualifier, provider.name, "XX", provider.npi)
        if provider.taxonomy:
            self.out.segment("PRV", role, "PXC", provider.taxonomy)

    def _line(self, claim: Claim, line: ServiceLine) -> None:
        out = self.out
        out.segment("LX", str(line.number))
        procedure = out.procedure(line.procedure) if line.procedure else ""
        if claim.kind == "837I":
            out.segment(
                "SV2",
                line.revenue_code,
                procedure,
                amount(line.charge),
                line.unit_basis,
                amount(line.units),
            )
        else:
            out.segment(
                "SV1",
                procedure,
                amount(line.charge),
                line.unit_basis,
                amount(line.units),
                line.place_of_service,
                "",
                out.composite(*(str(p) for p in line.diagnosis_pointers)),
            )
        if line.service_date is not None:
            if line.service_date_end is not None:
                period = f"{date8(line.service_date)}-{date8(line.service_date_end)}"
                out.segment("DTP", "472", "RD8", period)
            else:
                out.segment("DTP", "472", "D8", date8(line.service_date))
        if line.line_control_number:
            out.segment("REF", "6R", line.line_control_number)


_HI_FAMILIES = {"ABK": ("K", 1), "BK": ("K", 1), "ABJ": ("J", 1), "BJ": ("J", 1)}
_HI_FAMILIES |= {"APR": ("R", 3), "PR": ("R", 3), "ABN": ("N", 12)}


def _hi_segments(
    diagnoses: Sequence[Diagnosis], *, institutional: bool
) -> Iterable[list[Diagnosis]]:
    """HI segments: up to 12 codes each; on the 837I each kind of diagnosis gets its own."""
    chunk: list[Diagnosis] = []
    family = ""
    limit = 12
    for diagnosis in diagnoses:
        this, this_limit = (
            _HI_FAMILIES.get(diagnosis.qualifier, ("F", 12)) if institutional else ("", 12)
        )
        if chunk and (this != family or len(chunk) >= limit):
            yield chunk
            chunk = []
        family, limit = this, this_limit
        chunk.append(diagnosis)
    if chunk:
        yield chunk


def write_837(
    claims: Iterable[Claim],
    stream: BinaryWritable,
    *,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> int:
    """Write `claims` (837P and/or 837I) as X12 to a binary stream; return the claim count."""
    out = SegmentWriter(stream, delimiters=delimiters, newline=newline)
    writer = _Writer837(out)
    count = 0
    for claim in claims:
        writer.claim(claim)
        count += 1
    out.finish()
    return count


# -- 835 -------------------------------------------------------------------------------------


class _Writer835:
    def __init__(self, out: SegmentWriter) -> None:
        self.out = out
        self.remittance: Remittance | None = None
        self.header_number: int | None = None

    def item(self, item: RemittanceItem) -> None:
        if self.remittance is None or not _same(self.remittance, item.remittance):
            self._header(item.remittance)
        if isinstance(item, ProviderAdjustment):
            self._plb(item)
        else:
            self._claim(item)

    def _header(self, r: Remittance) -> None:
        out = self.out
        out.open_set(r.interchange, r.group, "835", r.control_number)
        payer_account = _account(r.payer_account)
        payee_account = _account(r.payee_account)
        out.segment(
            "BPR",
            r.handling_code,
            amount(r.amount),
            r.credit_debit,
            r.method,
            r.format,
            *payer_account,
            r.originating_company_id,
            "",
            *payee_account,
            date8(r.payment_date),
        )
        out.segment("TRN", "1", r.trace_number, r.trace_originator)
        if r.production_date is not None:
            out.segment("DTM", "405", date8(r.production_date))
        payer = r.payer
        out.segment("N1", "PR", payer.name, payer.id_qualifier if payer.id else "", payer.id)
        out.address(payer.address)
        if payer.contact_name or payer.contact_phone:
            out.segment(
                "PER",
                "BL",
                payer.contact_name,
                "TE" if payer.contact_phone else "",
                payer.contact_phone,
            )
        payee = r.payee
        out.segment("N1", "PE", payee.name, payee.id_qualifier if payee.id else "", payee.id)
        if payee.tax_id:
            out.segment("REF", "TJ", payee.tax_id)
        self.remittance = r
        self.header_number = None

    def _claim(self, c: ClaimPayment) -> None:
        out = self.out
        if c.header_number is not None and c.header_number != self.header_number:
            out.segment("LX", str(c.header_number))
            self.header_number = c.header_number
        out.segment(
            "CLP",
            c.patient_control_number,
            c.status,
            amount(c.charge),
            amount(c.paid),
            amount(c.patient_responsibility) if c.patient_responsibility is not None else "",
            c.claim_filing_indicator,
            c.payer_claim_control_number,
            c.facility_code,
            c.frequency_code,
        )
        self._cas(c.adjustments)
        out.nm1("QC", c.patient_name, c.patient_id_qualifier, c.patient_id)
        if c.insured_name is not None:
            out.nm1("IL", c.insured_name, "MI", c.insured_id)
        if c.remark_codes:
            out.segment("MOA", "", "", *c.remark_codes)
        for qualifier, value in (
            ("232", c.statement_from),
            ("233", c.statement_to),
            ("050", c.received_date),
        ):
            if value is not None:
                out.segment("DTM", qualifier, date8(value))
        for service in c.services:
            self._service(service)

    def _service(self, s: ServicePayment) -> None:
        out = self.out
        out.segment(
            "SVC",
            out.procedure(s.procedure),
            amount(s.charge),
            amount(s.paid),
            s.revenue_code,
            amount(s.units) if s.units is not None else "",
        )
        if s.service_date is not None:
            if s.service_date_end is not None:
                out.segment("DTM", "150", date8(s.service_date))
                out.segment("DTM", "151", date8(s.service_date_end))
            else:
                out.segment("DTM", "472", date8(s.service_date))
        self._cas(s.adjustments)
        if s.line_control_number:
            out.segment("REF", "6R", s.line_control_number)
        if s.allowed_amount is not None:
            out.segment("AMT", "B6", amount(s.allowed_amount))
        for code in s.remark_codes:
            out.segment("LQ", "HE", code)

    def _cas(self, adjustments: Sequence[Adjustment]) -> None:
        """One CAS per run of the same group code, at most six triples each."""
        run: list[Adjustment] = []
        for adjustment in adjustments:
            if run and (adjustment.group_code != run[0].group_code or len(run) == 6):
                self._cas_segment(run)
                run = []
            run.append(adjustment)
        if run:
            self._cas_segment(run)

    def _cas_segment(self, run: list[Adjustment]) -> None:
        elements = [run[0].group_code]
        for a in run:
            quantity = amount(a.quantity) if a.quantity is not None else ""
            elements += [a.reason_code, amount(a.amount), quantity]
        self.out.segment("CAS", *elements)

    def _plb(self, p: ProviderAdjustment) -> None:
        out = self.out
        elements = [p.provider_id, date8(p.fiscal_period_date)]
        for item in p.items:
            elements += [out.composite(item.reason_code, item.reference), amount(item.amount)]
        out.segment("PLB", *elements)


def _account(account: BankAccount | None) -> tuple[str, str, str, str]:
    if account is None:
        return ("", "", "", "")
    return (
        account.dfi_qualifier,
        account.dfi_number,
        account.account_qualifier,
        account.account_number,
    )


def write_835(
    items: Iterable[RemittanceItem],
    stream: BinaryWritable,
    *,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> int:
    """Write claim payments and provider adjustments as an 835; return the item count."""
    out = SegmentWriter(stream, delimiters=delimiters, newline=newline)
    writer = _Writer835(out)
    count = 0
    for item in items:
        writer.item(item)
        count += 1
    out.finish()
    return count
