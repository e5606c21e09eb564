"""837P (005010X222A1) and 837I (005010X223A2) transaction sets into `Claim`s.

The parser keeps only the current loop chain (billing provider -> subscriber -> patient ->
claim -> line), so a transaction set with 50,000 claims costs the memory of one claim.
Segments that PHI Warden does not model (PWK, NTE, K3, other-payer loops 2320/2330, line
adjudication 2430, ...) are skipped; what is modelled is listed in docs/x12.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from phiwarden.billing.x12 import values as v
from phiwarden.billing.x12.errors import ErrorCode, X12Error
from phiwarden.billing.x12.models import (
    Address,
    BillingProvider,
    Claim,
    ClaimKind,
    Diagnosis,
    FunctionalGroup,
    Interchange,
    Patient,
    Procedure,
    ProviderRef,
    ServiceLine,
    Subscriber,
    TransactionSet837,
)
from phiwarden.billing.x12.reader import Segment

DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "ABF", "ABJ", "APR", "ABN", "BK", "BF", "BJ", "PR"})


@dataclass(slots=True)
class _Party:
    """Segments gathered for one NM1 entity until its loop closes."""

    nm1: Segment
    n3: Segment | None = None
    n4: Segment | None = None
    dmg: Segment | None = None
    refs: dict[str, str] = field(default_factory=dict)
    taxonomy: str = ""

    def address(self) -> Address | None:
        return v.address(self.n3, self.n4) if self.n4 is not None else None


@dataclass(slots=True)
class _Line:
    lx: Segment
    sv: Segment | None = None
    dtp: Segment | None = None
    control_number: str = ""


@dataclass(slots=True)
class _ClaimDraft:
    clm: Segment
    dates: dict[str, Segment] = field(default_factory=dict)
    cl1: Segment | None = None
    refs: dict[str, str] = field(default_factory=dict)
    diagnoses: list[Diagnosis] = field(default_factory=list)
    providers: dict[str, _Party] = field(default_factory=dict)
    lines: list[_Line] = field(default_factory=list)


def _procedure(segment: Segment, position: int, component: str) -> Procedure | None:
    text = segment.get(position)
    if not text:
        return None
    parts = text.split(component)
    if len(parts) < 2 or not parts[1]:
        raise X12Error(
            segment.number,
            ErrorCode.MISSING_ELEMENT,
            f"{v.where(segment, position)}-2 (procedure code) is required",
        )
    modifiers = tuple(m for m in parts[2:6] if m)
    return Procedure(qualifier=parts[0], code=parts[1], modifiers=modifiers)


class Parser837:
    """Feed the segments of one 837 transaction set (after ST, through SE)."""

    def __init__(
        self,
        st: Segment,
        *,
        interchange: Interchange,
        group: FunctionalGroup,
        kind: ClaimKind,
        component: str,
    ) -> None:
        self.st = st
        self.interchange = interchange
        self.group = group
        self.kind = kind
        self.component = component
        self.area = "header"
        self.bht: Segment | None = None
        self.header: dict[str, _Party] = {}
        self.contact: Segment | None = None
        self.transaction: TransactionSet837 | None = None
        self.provider_hl = ""
        self.provider: dict[str, _Party] = {}
        self.provider_taxonomy = ""
        self.billing_provider: BillingProvider | None = None
        self.subscriber_hl = ""
        self.sbr: Segment | None = None
        self.subscriber_parties: dict[str, _Party] = {}
        self.subscriber: Subscriber | None = None
        self.pat: Segment | None = None
        self.patient_party: _Party | None = None
        self.patient: Patient | None = None
        self.has_patient = False
        self.party: _Party | None = None
        self.claim: _ClaimDraft | None = None
        self.line: _Line | None = None
        # Immutable values that repeat between claims (diagnoses, procedures, diagnosis
        # pointers, rendering providers), shared by their source text; bounded.
        self.cache: dict[object, object] = {}

    def feed(self, segment: Segment) -> Claim | None:
        """Take one segment; return a claim when `segment` closes one."""
        sid = segment.elements[0]
        if sid == "HL" or sid == "CLM" or sid == "SE":
            done = self._finish_claim()
            if sid == "HL":
                self._hl(segment)
            elif sid == "CLM":
                self._start_claim(segment)
            return done
        handler = _HANDLERS.get(sid)
        if handler is not None:
            handler(self, segment)
        return None

    # -- header and hierarchy -------------------------------------------------------------

    def _bht(self, segment: Segment) -> None:
        self.bht = segment

    def _hl(self, segment: Segment) -> None:
        level = segment.get(3)
        parent = segment.get(2)
        self.party = None
        if level == "20":
            self.area, self.provider_hl, self.provider = "provider", segment.get(1), {}
            self.provider_taxonomy = ""
            self.billing_provider = None
            self.subscriber_hl, self.subscriber = "", None
        elif level == "22":
            if not self.provider_hl or parent != self.provider_hl:
                raise X12Error(
                    segment.number, ErrorCode.STRUCTURE, "subscriber HL is not under a provider HL"
                )
            self.area, self.subscriber_hl = "subscriber", segment.get(1)
            self.sbr, self.subscriber_parties, self.subscriber = None, {}, None
            self.patient, self.patient_party, self.has_patient = None, None, False
        elif level == "23":
            if not self.subscriber_hl or parent != self.subscriber_hl:
                raise X12Error(
                    segment.number, ErrorCode.STRUCTURE, "patient HL is not under a subscriber HL"
                )
            self._freeze_subscriber(segment)
            self.area, self.pat, self.patient_party = "patient", None, None
            self.patient, self.has_patient = None, True
        else:
            raise X12Error(segment.number, ErrorCode.BAD_VALUE, "HL03 is not 20, 22 or 23")

    def _nm1(self, segment: Segment) -> None:
        elements = segment[1]
        qualifier = elements[1] if len(elements) > 1 else ""
        area = self.area
        party = _Party(segment)
        self.party = party
        if area == "header":
            self.header[qualifier] = party
        elif area == "provider":
            self.provider[qualifier] = party
        elif area == "subscriber":
            self.subscriber_parties[qualifier] = party
        elif area == "patient" and qualifier == "QC":
            self.patient_party = party
        elif area == "claim" and self.claim is not None:
            self.claim.providers.setdefault(qualifier, party)

    def _n3(self, segment: Segment) -> None:
        if self.party is not None:
            self.party.n3 = segment

    def _n4(self, segment: Segment) -> None:
        if self.party is not None:
            self.party.n4 = segment

    def _dmg(self, segment: Segment) -> None:
        if self.party is not None:
            self.party.dmg = segment

    def _ref(self, segment: Segment) -> None:
        elements = segment[1]
        if len(elements) < 3:
            elements = [*elements, "", ""]
        qualifier = elements[1]
        area = self.area
        if area == "line" and self.line is not None:
            if qualifier == "6R":
                self.line.control_number = elements[2]
        elif area == "claim" and self.claim is not None and self.party is None:
            self.claim.refs.setdefault(qualifier, elements[2])
        elif self.party is not None:
            self.party.refs.setdefault(qualifier, elements[2])

    def _per(self, segment: Segment) -> None:
        if self.area == "header" and self.contact is None:
            self.contact = segment

    def _prv(self, segment: Segment) -> None:
        if self.area == "provider" and segment.get(1) == "BI":
            self.provider_taxonomy = segment.get(3)
        elif self.area == "claim" and self.party is not None:
            self.party.taxonomy = segment.get(3)

    def _sbr(self, segment: Segment) -> None:
        if self.area == "subscriber":
            self.sbr = segment
        else:  # 2320: other subscriber information, not modelled
            self.area, self.party = "other", None

    def _pat(self, segment: Segment) -> None:
        if self.area == "patient":
            self.pat = segment

    # -- claim ----------------------------------------------------------------------------

    def _start_claim(self, segment: Segment) -> None:
        if self.area == "patient":
            self._freeze_patient(segment)
        elif self.area == "subscriber":
            self._freeze_subscriber(segment)
        elif self.subscriber is None:
            raise X12Error(segment.number, ErrorCode.STRUCTURE, "CLM is not under a subscriber HL")
        self.claim = _ClaimDraft(segment)
        self.area, self.party, self.line = "claim", None, None

    def _dtp(self, segment: Segment) -> None:
        if self.area == "claim" and self.claim is not None:
            self.claim.dates.setdefault(segment.get(1), segment)
        elif self.area == "line" and self.line is not None and segment.get(1) == "472":
            self.line.dtp = segment

    def _cl1(self, segment: Segment) -> None:
        if self.claim is not None and self.area == "claim":
            self.claim.cl1 = segment

    def _hi(self, segment: Segment) -> None:
        if self.claim is None or self.area != "claim":
            return
        component = self.component
        cache = self.cache
        append = self.claim.diagnoses.append
        for composite in segment.elements[1:]:
            diagnosis: Diagnosis | None = cache.get(composite)  # type: ignore[assignment]
            if diagnosis is None:
                parts = composite.split(component)
                if parts[0] in DIAGNOSIS_QUALIFIERS and len(parts) > 1 and parts[1]:
                    diagnosis = Diagnosis(parts[0], parts[1])
                    _remember(cache, composite, diagnosis)
                else:
                    continue
            append(diagnosis)

    def _lx(self, segment: Segment) -> None:
        if self.claim is None:
            raise X12Error(segment.number, ErrorCode.STRUCTURE, "LX is not inside a claim")
        self.line = _Line(segment)
        self.claim.lines.append(self.line)
        self.area, self.party = "line", None

    def _sv(self, segment: Segment) -> None:
        if self.line is not None and self.area == "line":
            self.line.sv = segment

    # -- freezing drafts into values -----------------------------------------------------

    def _transaction(self, at: Segment) -> TransactionSet837:
        if self.transaction is not None:
            return self.transaction
        bht = self.bht
        submitter, receiver = self.header.get("41"), self.header.get("40")
        if bht is None or submitter is None or receiver is None:
            raise X12Error(
                at.number, ErrorCode.STRUCTURE, "BHT, NM1*41 and NM1*40 must precede the first HL"
            )
        contact = self.contact
        self.transaction = TransactionSet837(
            interchange=self.interchange,
            group=self.group,
            kind=self.kind,
            control_number=self.st.get(2),
            purpose=bht.get(2),
            reference=bht.get(3),
            created_date=v.date(bht, 4),
            created_time=v.time(bht, 5),
            claim_or_encounter=bht.get(6),
            submitter_name=v.name(submitter.nm1),
            submitter_id=submitter.nm1.get(9),
            contact_name=contact.get(2) if contact else "",
            contact_phone=v.first_phone(contact) if contact else "",
            receiver_name=receiver.nm1.get(3),
            receiver_id=receiver.nm1.get(9),
        )
        return self.transaction

    def _billing_provider(self, at: Segment) -> BillingProvider:
        if self.billing_provider is not None:
            return self.billing_provider
        party = self.provider.get("85")
        if party is None:
            raise X12Error(at.number, ErrorCode.STRUCTURE, "billing provider NM1*85 is missing")
        address = party.address()
        if address is None:
            raise X12Error(at.number, ErrorCode.STRUCTURE, "billing provider N4 is missing")
        tax_qualifier = "EI" if "EI" in party.refs else ("SY" if "SY" in party.refs else "")
        self.billing_provider = BillingProvider(
            name=v.name(party.nm1),
            npi=party.nm1.get(9),
            tax_id=party.refs.get(tax_qualifier, ""),
            tax_id_qualifier=tax_qualifier,
            address=address,
            taxonomy=self.provider_taxonomy,
        )
        return self.billing_provider

    def _freeze_subscriber(self, at: Segment) -> None:
        if self.subscriber is not None:
            return
        sbr, insured = self.sbr, self.subscriber_parties.get("IL")
        payer = self.subscriber_parties.get("PR")
        if sbr is None or insured is None or payer is None:
            raise X12Error(
                at.number, ErrorCode.STRUCTURE, "subscriber loop needs SBR, NM1*IL and NM1*PR"
            )
        dmg = insured.dmg
        self.subscriber = Subscriber(
            payer_responsibility=sbr.get(1),
            relationship=sbr.get(2),
            group_number=sbr.get(3),
            group_name=sbr.get(4),
            claim_filing_indicator=sbr.get(9),
            name=v.name(insured.nm1),
            member_id_qualifier=insured.nm1.get(8),
            member_id=insured.nm1.get(9),
            address=insured.address(),
            birth_date=v.optional_date(dmg, 2) if dmg else None,
            sex=dmg.get(3) if dmg else "",
            ssn=insured.refs.get("SY", ""),
            payer_name=payer.nm1.get(3),
            payer_id_qualifier=payer.nm1.get(8),
            payer_id=payer.nm1.get(9),
        )

    def _freeze_patient(self, at: Segment) -> None:
        if self.patient is not None:
            return
        party, pat = self.patient_party, self.pat
        if party is None or pat is None or party.n4 is None or party.dmg is None:
            raise X12Error(
                at.number, ErrorCode.STRUCTURE, "patient loop needs PAT, NM1*QC, N4 and DMG"
            )
        self.patient = Patient(
            relationship=pat.get(1),
            name=v.name(party.nm1),
            address=v.address(party.n3, party.n4),
            birth_date=v.date(party.dmg, 2),
            sex=party.dmg.get(3),
        )

    def _finish_claim(self) -> Claim | None:
        draft = self.claim
        if draft is None:
            return None
        self.claim, self.line = None, None
        clm = draft.clm
        subscriber = self.subscriber
        if subscriber is None:  # pragma: no cover - _start_claim guarantees it
            raise X12Error(clm.number, ErrorCode.STRUCTURE, "CLM is not under a subscriber HL")
        elements = clm[1]
        if len(elements) < 10:
            elements = elements + [""] * (10 - len(elements))
        position = elements[5].split(self.component)
        position += [""] * (3 - len(position))
        dates = _ClaimDates(draft.dates)
        cl1 = draft.cl1
        return Claim(
            transaction=self._transaction(clm),
            billing_provider=self._billing_provider(clm),
            subscriber=subscriber,
            patient=self.patient if self.has_patient else None,
            patient_control_number=v.required(clm, 1),
            total_charge=v.number(clm, 2),
            facility_code=position[0],
            facility_code_qualifier=position[1],
            frequency_code=position[2],
            provider_signature=elements[6],
            assignment=elements[7],
            benefits_assigned=elements[8],
            release_of_information=elements[9],
            diagnoses=tuple(draft.diagnoses),
            onset_date=dates.single("431"),
            statement_from=dates.start("434"),
            statement_to=dates.end("434"),
            admission_date=dates.start("435"),
            admission_time=dates.time_of("435"),
            discharge_time=dates.time_of("096"),
            admission_type=cl1.get(1) if cl1 else "",
            admission_source=cl1.get(2) if cl1 else "",
            patient_status=cl1.get(3) if cl1 else "",
            prior_authorization=draft.refs.get("G1", ""),
            payer_claim_control_number=draft.refs.get("F8", ""),
            medical_record_number=draft.refs.get("EA", ""),
            rendering_provider=self._provider_ref(draft.providers.get("82")),
            attending_provider=self._provider_ref(draft.providers.get("71")),
            service_lines=tuple(self._service_line(line) for line in draft.lines),
        )

    def _provider_ref(self, party: _Party | None) -> ProviderRef | None:
        if party is None:
            return None
        key = (*party.nm1.elements, party.taxonomy)
        found = self.cache.get(key)
        if found is None:
            found = _remember(self.cache, key, _provider_ref(party))
        return found  # type: ignore[return-value]

    def _service_line(self, line: _Line) -> ServiceLine:
        sv = line.sv
        if sv is None:
            raise X12Error(line.lx.number, ErrorCode.STRUCTURE, "LX has no SV1 or SV2")
        start, end = v.date_range(line.dtp, 3) if line.dtp else (None, None)
        elements = sv.elements
        if elements[0] == "SV1":
            if len(elements) < 8:
                elements = elements + [""] * (8 - len(elements))
            cache = self.cache
            procedure = cache.get(("SV1", elements[1]))
            if procedure is None:
                procedure = _remember(
                    cache, ("SV1", elements[1]), _procedure(sv, 1, self.component)
                )
            pointers = elements[7]
            found = cache.get(("SV107", pointers)) if pointers else ()
            if found is None:
                found = _remember(
                    cache, ("SV107", pointers), _pointers(sv, pointers.split(self.component))
                )
            return ServiceLine(
                v.integer(line.lx, 1),
                procedure,  # type: ignore[arg-type]
                "",
                v.number(sv, 2),
                elements[3],
                v.number(sv, 4),
                elements[5],
                found,  # type: ignore[arg-type]
                start,
                end,
                line.control_number,
            )
        return ServiceLine(
            number=v.integer(line.lx, 1),
            procedure=_procedure(sv, 2, self.component),
            revenue_code=v.required(sv, 1),
            charge=v.number(sv, 3),
            unit_basis=sv.get(4),
            units=v.number(sv, 5),
            place_of_service="",
            diagnosis_pointers=(),
            service_date=start,
            service_date_end=end,
            line_control_number=line.control_number,
        )


# Segment id -> handler, as plain functions taking the parser: a table of bound methods
# kept on the parser would be a reference cycle, and every finished transaction set (its
# drafts, segments and value cache) would then wait for the cyclic garbage collector's
# rare full collection; memory would grow with the file (issue 4, import memory).
_HANDLERS: dict[str, Callable[[Parser837, Segment], None]] = {
    "BHT": Parser837._bht,
    "NM1": Parser837._nm1,
    "N3": Parser837._n3,
    "N4": Parser837._n4,
    "DMG": Parser837._dmg,
    "REF": Parser837._ref,
    "PER": Parser837._per,
    "PRV": Parser837._prv,
    "SBR": Parser837._sbr,
    "PAT": Parser837._pat,
    "DTP": Parser837._dtp,
    "CL1": Parser837._cl1,
    "HI": Parser837._hi,
    "LX": Parser837._lx,
    "SV1": Parser837._sv,
    "SV2": Parser837._sv,
}

_CACHE_LIMIT = 4096


def _remember(cache: dict[object, object], key: object, value: object) -> object:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _pointers(segment: Segment, parts: list[str]) -> tuple[int, ...]:
    if not all(p.isdigit() and p.isascii() for p in parts):
        raise X12Error(segment.number, ErrorCode.BAD_NUMBER, "SV107 pointers are not numbers")
    return tuple(int(p) for p in parts)


def _provider_ref(party: _Party | None) -> ProviderRef | None:
    if party is None:
        return None
    return ProviderRef(name=v.name(party.nm1), npi=party.nm1.get(9), taxonomy=party.taxonomy)


class _ClaimDates:
    """Claim-level DTP segments by qualifier."""

    __slots__ = ("dates",)

    def __init__(self, dates: dict[str, Segment]) -> None:
        self.dates = dates

    def single(self, qualifier: str) -> dt.date | None:
        segment = self.dates.get(qualifier)
        return v.date_range(segment, 3)[0] if segment else None

    def start(self, qualifier: str) -> dt.date | None:
        return self.single(qualifier)

    def end(self, qualifier: str) -> dt.date | None:
        segment = self.dates.get(qualifier)
        return v.date_range(segment, 3)[1] if segment else None

    def time_of(self, qualifier: str) -> dt.time | None:
        segment = self.dates.get(qualifier)
        if segment is None:
            return None
        text, fmt = segment.get(3), segment.get(2)
        if fmt == "TM":
            return v.parse_time(segment, 3, text)
        if fmt == "DT" and len(text) == 12:
            return v.parse_time(segment, 3, text[8:])
        return None


def parse_837_transaction(
    st: Segment,
    segments: Iterator[Segment],
    *,
    interchange: Interchange,
    group: FunctionalGroup,
    kind: ClaimKind,
    component: str,
) -> Iterator[Claim]:
    """Claims of one 837 transaction set; consumes `segments` through SE."""
    parser = Parser837(st, interchange=interchange, group=group, kind=kind, component=component)
    handlers = _HANDLERS  # `Parser837.feed`, inlined: one call per segment, not two
    finish, start_claim, hl = parser._finish_claim, parser._start_claim, parser._hl
    for segment in segments:
        sid = segment[1][0]
        handler = handlers.get(sid)
        if handler is not None:
            handler(parser, segment)
        elif sid == "HL" or sid == "CLM" or sid == "SE":
            claim = finish()
            if sid == "HL":
                hl(segment)
            elif sid == "CLM":
                start_claim(segment)
            else:
                if claim is not None:
                    yield claim
                return
            if claim is not None:
                yield claim
