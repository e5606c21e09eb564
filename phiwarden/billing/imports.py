"""Importing X12 837P, 837I and 835 files: all or nothing, idempotent, audited.

One file is one transaction. The upload is first spooled to a private temporary file
(bounded, hashed); a file whose SHA-256 or interchange (sender, control number, kind) was
imported before is reported as a duplicate and creates nothing. Otherwise, inside one
database transaction: the original is stored encrypted (vault blob), every claim or
payment is parsed (streaming) and written with its PHI encrypted, each created claim and
payment writes an audit event naming its patient, and the file's own event closes it.
A malformed file raises ImportRefused naming the segment number and the reason, never a
value from the file; the transaction rolls back and the stored blob is removed.

45 CFR 164.312(b) audit controls, 164.312(c)(1) integrity.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from phiwarden.accounts.models import Client, Membership, Organization
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.billing import phi
from phiwarden.billing.minimum_necessary import Purpose
from phiwarden.billing.models import (
    Adjustment,
    Claim,
    ClaimKind,
    ClaimPayment,
    ClaimStatus,
    Coverage,
    FileKind,
    Patient,
    Payer,
    Provider,
    ProviderAdjustment,
    RemarkCode,
    Remittance,
    ServiceLine,
    X12File,
)
from phiwarden.billing.x12 import models as x12
from phiwarden.billing.x12.errors import X12Error
from phiwarden.billing.x12.parser import parse_x12
from phiwarden.partners.models import PhiClass, Stage
from phiwarden.partners.services.flows import flow_observed
from phiwarden.vault.blobs import BlobTooLarge, blob_storage, blob_store
from phiwarden.vault.services import OrganizationCipher, cipher_for

SPOOL_CHUNK = 1 << 16  # the upload is copied 64 KiB at a time: memory is one chunk
Progress = Callable[[int], None]  # called with the number of items done so far


class ImportRefused(ValidationError):
    """The file was not imported; nothing was stored. The message names no PHI."""


@dataclass
class ImportResult:
    file: X12File | None
    duplicate: bool = False
    claims: int = 0
    payments: int = 0
    unmatched_payments: int = 0
    patients_created: int = 0
    kinds: set[str] = field(default_factory=set)


def max_upload_bytes() -> int:
    return int(getattr(settings, "X12_UPLOAD_MAX_BYTES", 100 * 1024 * 1024))


def _spool(stream: IO[bytes], limit: int) -> tuple[IO[bytes], str, int]:
    """Copy the upload to a private temporary file, refusing it past `limit` bytes."""
    spooled = tempfile.TemporaryFile(prefix="phiwarden-x12-")  # noqa: SIM115  (returned)
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: stream.read(SPOOL_CHUNK), b""):
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise ImportRefused(f"The file is larger than {limit // (1024 * 1024)} MB.")
        digest.update(chunk)
        spooled.write(chunk)
    if size == 0:
        spooled.close()
        raise ImportRefused("The file is empty.")
    spooled.seek(0)
    return spooled, digest.hexdigest(), size


def _sniff_interchange(spooled: IO[bytes]) -> x12.Interchange:
    """Read the envelope only (the first item), to find the interchange and refuse
    unsupported or malformed files before anything is stored."""
    try:
        first = next(iter(parse_x12(spooled)), None)
    except X12Error as error:
        raise ImportRefused(str(error)) from error
    finally:
        spooled.seek(0)
    if first is None:
        raise ImportRefused("The interchange holds no claim or payment.")
    if isinstance(first, x12.Claim):
        return first.transaction.interchange
    return first.remittance.interchange


def client_for_file(organization: Organization, stream: IO[bytes]) -> Client:
    """The client a file belongs to, from the provider NPI it names (an 837's billing
    provider, an 835's payee), among providers already imported for the organization."""
    try:
        first = next(iter(parse_x12(stream)), None)
    except X12Error as error:
        raise ImportRefused(str(error)) from error
    if first is None:
        raise ImportRefused("The interchange holds no claim or payment.")
    if isinstance(first, x12.Claim):
        npi = first.billing_provider.npi
    else:
        payee = first.remittance.payee
        npi = payee.id if payee.id_qualifier == "XX" else ""
    clients = list(
        Client.objects.for_organization(organization)
        .filter(pk__in=Provider.objects.filter(organization=organization, npi=npi).values("client"))
        .distinct()[:2]
    )
    if len(clients) != 1:
        raise ImportRefused(
            "The file's provider NPI matches "
            + ("no client" if not clients else "more than one client")
            + "; name the client explicitly."
        )
    return clients[0]


K = TypeVar("K")
V = TypeVar("V")
RECENT_MAX = 512


class _Recent(Generic[K, V]):
    """The most recently used rows (X12 files repeat a patient in nearby claims); older
    ones are looked up again, so memory stays flat however long the file."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = RECENT_MAX if limit is None else limit  # read at run time (tests)
        self.rows: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        row = self.rows.get(key)
        if row is not None:
            self.rows.move_to_end(key)
        return row

    def put(self, key: K, row: V) -> None:
        self.rows[key] = row
        self.rows.move_to_end(key)
        if len(self.rows) > self.limit:
            self.rows.popitem(last=False)


class _Writer:
    """Turns parsed items into rows of one client, with caches for the shared loops."""

    def __init__(
        self, actor: Membership, client: Client, cipher: OrganizationCipher, source: X12File
    ) -> None:
        self.actor = actor
        self.client = client
        self.organization = client.organization
        self.cipher = cipher
        self.source = source
        self.synthetic = self.organization.is_synthetic or source.usage_indicator == "T"
        self.payers: dict[str, Payer] = {}
        self.providers: dict[str, Provider] = {}
        # Bounded: a 50,000-claim file must not keep every patient in memory.
        self.patients: _Recent[str, Patient] = _Recent()
        self.coverages: _Recent[tuple[int, int, str], Coverage] = _Recent()
        # One primary key per remittance (transaction set), not the model instance.
        self.remittances: dict[tuple[str, str], int] = {}
        self.result = ImportResult(file=source)

    # --- Shared parties ----------------------------------------------------------

    def payer(self, name: str, payer_id: str) -> Payer:
        key = payer_id or name
        if key not in self.payers:
            self.payers[key], _ = Payer.objects.get_or_create(
                organization=self.organization, payer_id=key, defaults={"name": name[:120]}
            )
        return self.payers[key]

    def provider(self, billing: x12.BillingProvider) -> Provider:
        if billing.npi not in self.providers:
            provider = Provider.objects.filter(client=self.client, npi=billing.npi).first()
            if provider is None:
                provider = Provider(
                    organization=self.organization,
                    client=self.client,
                    npi=billing.npi,
                    name=(billing.name.last or billing.name.first)[:120],
                    taxonomy=billing.taxonomy,
                )
                provider.tax_id_ct = phi.seal(self.cipher, provider, "tax_id_ct", billing.tax_id)
                provider.save()
            self.providers[billing.npi] = provider
        return self.providers[billing.npi]

    def patient(
        self,
        name: x12.Name,
        birth_date: object,
        sex: str,
        address: x12.Address | None,
        ssn: str = "",
    ) -> Patient:
        index = phi.name_dob_index(self.cipher, name.last, name.first, birth_date)  # type: ignore[arg-type]
        cached = self.patients.get(index)
        if cached is not None:
            return cached
        patient = Patient.objects.filter(client=self.client, name_dob_bidx=index).first()
        if patient is None:
            patient = Patient(
                organization=self.organization,
                client=self.client,
                name_dob_bidx=index,
                state=(address.state if address else "")[:2],
                is_synthetic=self.synthetic,
            )
            seal = phi.seal
            patient.name_ct = seal(
                self.cipher,
                patient,
                "name_ct",
                {
                    "last": name.last,
                    "first": name.first,
                    "middle": name.middle,
                    "suffix": name.suffix,
                },
            )
            patient.birth_date_ct = seal(self.cipher, patient, "birth_date_ct", birth_date)
            patient.sex_ct = seal(self.cipher, patient, "sex_ct", sex)
            if address is not None:
                patient.address_ct = seal(
                    self.cipher,
                    patient,
                    "address_ct",
                    {
                        "line1": address.line1,
                        "line2": address.line2,
                        "city": address.city,
                        "state": address.state,
                        "postal_code": address.postal_code,
                    },
                )
            patient.ssn_ct = seal(self.cipher, patient, "ssn_ct", ssn)
            patient.save()
            self.result.patients_created += 1
        self.patients.put(index, patient)
        return patient

    def coverage(self, patient: Patient, payer: Payer, subscriber: x12.Subscriber) -> Coverage:
        member_index = phi.identifier_index(self.cipher, phi.INDEX_MEMBER_ID, subscriber.member_id)
        key = (patient.pk, payer.pk, member_index)
        cached = self.coverages.get(key)
        if cached is None:
            coverage = Coverage.objects.filter(
                patient=patient, payer=payer, member_id_bidx=member_index
            ).first()
            if coverage is None:
                coverage = Coverage(
                    organization=self.organization,
                    patient=patient,
                    payer=payer,
                    member_id_bidx=member_index,
                    responsibility=subscriber.payer_responsibility[:1] or "P",
                    relationship=subscriber.relationship[:2],
                    filing_indicator=subscriber.claim_filing_indicator[:2],
                )
                coverage.member_id_ct = (
                    phi.seal(self.cipher, coverage, "member_id_ct", subscriber.member_id) or b""
                )
                coverage.group_number_ct = phi.seal(
                    self.cipher, coverage, "group_number_ct", subscriber.group_number
                )
                coverage.save()
            self.coverages.put(key, coverage)
            cached = coverage
        return cached

    # --- Claims ------------------------------------------------------------------

    def claim(self, item: x12.Claim) -> None:
        subscriber = item.subscriber
        payer = self.payer(subscriber.payer_name, subscriber.payer_id)
        provider = self.provider(item.billing_provider)
        if item.patient is None:
            patient = self.patient(
                subscriber.name,
                subscriber.birth_date,
                subscriber.sex,
                subscriber.address,
                subscriber.ssn,
            )
        else:
            patient = self.patient(
                item.patient.name, item.patient.birth_date, item.patient.sex, item.patient.address
            )
        coverage = self.coverage(patient, payer, subscriber)
        dates = [line.service_date for line in item.service_lines if line.service_date]
        ends = [line.service_date_end or line.service_date for line in item.service_lines]
        service_from = item.statement_from or (min(dates) if dates else None)
        service_to = item.statement_to or max((d for d in ends if d), default=service_from)
        claim = Claim(
            organization=self.organization,
            client=self.client,
            patient=patient,
            coverage=coverage,
            billing_provider=provider,
            source_file=self.source,
            kind=ClaimKind(item.kind),
            account_number_bidx=phi.identifier_index(
                self.cipher, phi.INDEX_ACCOUNT, item.patient_control_number
            ),
            payer_claim_number_bidx=phi.identifier_index(
                self.cipher, phi.INDEX_PAYER_CLAIM, item.payer_claim_control_number
            ),
            frequency_code=item.frequency_code[:1],
            facility_code=item.facility_code[:3],
            total_charge=item.total_charge,
            service_from=service_from,
            service_to=service_to,
            status=ClaimStatus.VOID if item.frequency_code == "8" else ClaimStatus.SUBMITTED,
            is_synthetic=self.synthetic,
        )
        claim.account_number_ct = (
            phi.seal(self.cipher, claim, "account_number_ct", item.patient_control_number) or b""
        )
        claim.payer_claim_number_ct = phi.seal(
            self.cipher, claim, "payer_claim_number_ct", item.payer_claim_control_number
        )
        claim.diagnoses_ct = (
            phi.seal(
                self.cipher, claim, "diagnoses_ct", [[d.qualifier, d.code] for d in item.diagnoses]
            )
            or b""
        )
        claim.prior_authorization_ct = phi.seal(
            self.cipher, claim, "prior_authorization_ct", item.prior_authorization
        )
        claim.save()
        lines = []
        for line in item.service_lines:
            row = ServiceLine(
                claim=claim,
                organization=self.organization,
                number=line.number,
                revenue_code=line.revenue_code[:4],
                charge=line.charge,
                units=line.units,
                service_date=line.service_date,
                line_control_number=line.line_control_number[:50],
            )
            procedure = line.procedure
            row.procedure_ct = (
                phi.seal(
                    self.cipher,
                    row,
                    "procedure_ct",
                    [procedure.qualifier, procedure.code, list(procedure.modifiers)]
                    if procedure
                    else ["", "", []],
                )
                or b""
            )
            lines.append(row)
        ServiceLine.objects.bulk_create(lines)
        audit_event_record(
            actor=self.actor.user,
            organization=self.organization,
            event_code=EventCode.BILLING_CLAIM_IMPORTED,
            target=claim,
            purpose=Purpose.PAYMENT,
            data={"file_id": self.source.pk, "client_id": self.client.pk, "kind": claim.kind},
            patient_ids=[patient.pk],
        )
        self.result.claims += 1

    # --- Remittances -----------------------------------------------------------

    def remittance(self, header: x12.Remittance) -> int:
        """The primary key of the remittance of `header`, created on first sight."""
        key = (header.control_number, header.trace_number)
        if key not in self.remittances:
            self.remittances[key] = Remittance.objects.create(
                organization=self.organization,
                client=self.client,
                payer=self.payer(header.payer.name, header.payer.id),
                source_file=self.source,
                trace_number=header.trace_number[:50],
                payment_amount=header.amount,
                payment_method=header.method[:3],
                payment_date=header.payment_date,
            ).pk
        return self.remittances[key]

    def _match(self, account_index: str, payer_claim_index: str) -> Claim | None:
        claims = Claim.objects.filter(client=self.client, account_number_bidx=account_index)
        if payer_claim_index:
            exact = claims.filter(payer_claim_number_bidx=payer_claim_index).first()
            if exact is not None:
                return exact
        return claims.exclude(status=ClaimStatus.VOID).order_by("-pk").first()

    def payment(self, item: x12.ClaimPayment) -> None:
        remittance_id = self.remittance(item.remittance)
        account_index = phi.identifier_index(
            self.cipher, phi.INDEX_ACCOUNT, item.patient_control_number
        )
        payer_claim_index = phi.identifier_index(
            self.cipher, phi.INDEX_PAYER_CLAIM, item.payer_claim_control_number
        )
        claim = self._match(account_index, payer_claim_index)
        payment = ClaimPayment(
            remittance_id=remittance_id,
            organization=self.organization,
            claim=claim,
            account_number_bidx=account_index,
            payer_claim_number_bidx=payer_claim_index,
            status_code=item.status[:2],
            charge=item.charge,
            paid=item.paid,
            patient_responsibility=item.patient_responsibility or Decimal(0),
        )
        seal = phi.seal
        payment.account_number_ct = (
            seal(self.cipher, payment, "account_number_ct", item.patient_control_number) or b""
        )
        payment.payer_claim_number_ct = seal(
            self.cipher, payment, "payer_claim_number_ct", item.payer_claim_control_number
        )
        name = item.patient_name
        payment.patient_name_ct = seal(
            self.cipher,
            payment,
            "patient_name_ct",
            {"last": name.last, "first": name.first, "middle": name.middle, "suffix": name.suffix},
        )
        # NM108 = 34 would make the "member id" an SSN: never kept in a member id column.
        if item.patient_id_qualifier != "34":
            payment.member_id_ct = seal(self.cipher, payment, "member_id_ct", item.patient_id)
        payment.save()
        adjustments = [
            Adjustment(
                payment=payment,
                group_code=a.group_code[:2],
                reason_code=a.reason_code[:5],
                amount=a.amount,
                quantity=a.quantity,
            )
            for a in item.adjustments
        ]
        remarks = [RemarkCode(payment=payment, code=code[:8]) for code in item.remark_codes]
        for number, service in enumerate(item.services, start=1):
            adjustments += [
                Adjustment(
                    payment=payment,
                    line_number=number,
                    group_code=a.group_code[:2],
                    reason_code=a.reason_code[:5],
                    amount=a.amount,
                    quantity=a.quantity,
                )
                for a in service.adjustments
            ]
            remarks += [
                RemarkCode(payment=payment, line_number=number, code=code[:8])
                for code in service.remark_codes
            ]
        Adjustment.objects.bulk_create(adjustments)
        RemarkCode.objects.bulk_create(remarks)
        if claim is not None:
            _apply_payment(claim, item)
        else:
            self.result.unmatched_payments += 1
        audit_event_record(
            actor=self.actor.user,
            organization=self.organization,
            event_code=EventCode.BILLING_PAYMENT_IMPORTED,
            target=payment,
            purpose=Purpose.PAYMENT,
            data={
                "file_id": self.source.pk,
                "client_id": self.client.pk,
                "matched": claim is not None,
            },
            patient_ids=[claim.patient_id] if claim is not None else [],
        )
        self.result.payments += 1

    def provider_adjustment(self, item: x12.ProviderAdjustment) -> None:
        remittance_id = self.remittance(item.remittance)
        for entry in item.items:
            row = ProviderAdjustment(
                remittance_id=remittance_id,
                organization=self.organization,
                reason_code=entry.reason_code[:2],
                amount=entry.amount,
            )
            row.reference_ct = phi.seal(self.cipher, row, "reference_ct", entry.reference)
            row.save()


def _apply_payment(claim: Claim, item: x12.ClaimPayment) -> None:
    """CLP02: 4 denied, 22 reversal of a previous payment; else paid in full or in part."""
    if item.status == "22":
        claim.status = ClaimStatus.REVERSED
        claim.paid_amount = Decimal(0)
    elif item.status == "4" or item.paid == 0:
        claim.status = ClaimStatus.DENIED
    else:
        claim.paid_amount = item.paid
        claim.status = (
            ClaimStatus.PAID
            if item.paid + (item.patient_responsibility or 0) >= claim.total_charge
            else ClaimStatus.PARTIALLY_PAID
        )
    claim.patient_responsibility = item.patient_responsibility or Decimal(0)
    claim.save(update_fields=["status", "paid_amount", "patient_responsibility", "updated_at"])


_FILE_KIND = {"837P": FileKind.CLAIMS_837P, "837I": FileKind.CLAIMS_837I}


def _observe_flow(
    organization: Organization, client: Client, channel: str, kind: str, writer: _Writer
) -> None:
    """Suggest (or count) the flow on the PHI flow map that this file just travelled
    (45 CFR 164.308(a)(1)(ii)(A): know where PHI goes). Claims come from the client;
    remittances come back from payers through the clearinghouse."""
    classes = [PhiClass.DEMOGRAPHICS, PhiClass.INSURANCE, PhiClass.PAYMENTS]
    if kind != FileKind.REMITTANCE_835:
        classes += [PhiClass.DIAGNOSES, PhiClass.PROCEDURES]
    stage = Stage.REMITS if kind == FileKind.REMITTANCE_835 else Stage.CLAIMS
    flow_observed(organization, client, channel, stage, phi_classes=[c.value for c in classes])


def _items(spooled: IO[bytes]) -> Iterator[x12.ParsedItem]:
    try:
        yield from parse_x12(spooled)
    except X12Error as error:
        raise ImportRefused(str(error)) from error


def x12_import(
    *,
    actor: Membership,
    client: Client,
    stream: IO[bytes],
    filename: str,
    channel: str = "secure_portal",
    progress: Progress | None = None,
) -> ImportResult:
    """Import one X12 file for one client. See the module docstring for the guarantees.

    `channel` is how the file reached us (partners' Channel values: a web upload is the
    secure portal, the API is api_tls, a file picked up from a drop folder is usually
    sftp); the import records it on the PHI flow map as an observed flow."""
    capability_require(actor, Capability.BILLING_IMPORT)
    if client.organization_id != actor.organization_id:
        raise ImportRefused("That client is not in your organization.")
    if not actor.reaches_all_clients and not actor.clients.filter(pk=client.pk).exists():
        raise ImportRefused("You are not assigned to that client.")
    spooled, sha256, _size = _spool(stream, max_upload_bytes())
    with spooled:
        interchange = _sniff_interchange(spooled)
        organization = actor.organization
        previous = X12File.objects.for_organization(organization).filter(sha256=sha256).first()
        if previous is None:
            previous = (
                X12File.objects.for_organization(organization)
                .filter(
                    sender_id=interchange.sender_id[:15],
                    interchange_control_number=interchange.control_number[:9],
                )
                .first()
            )
        if previous is not None:
            return ImportResult(file=previous, duplicate=True)
        return _import_new(actor, client, spooled, filename, sha256, interchange, channel, progress)


def _plan_each_statement() -> None:
    """On PostgreSQL, plan every statement of this import transaction for the tables as they
    are now. Statements are prepared after a few runs (ADR 0007), and a prepared statement
    may switch to one generic plan; the tables an import writes grow by thousands of rows
    inside one transaction that no ANALYZE sees, so a generic plan made near the start
    (when they were small) got slower with every claim: 50,000 claims went at half the
    rate of 5,000. SET LOCAL ends with the transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")


def _import_new(
    actor: Membership,
    client: Client,
    spooled: IO[bytes],
    filename: str,
    sha256: str,
    interchange: x12.Interchange,
    channel: str,
    progress: Progress | None,
) -> ImportResult:
    organization = actor.organization
    stored_name = ""
    try:
        with transaction.atomic():
            _plan_each_statement()
            blob = blob_store(
                organization=organization,
                stream=spooled,
                filename=filename[:255] or "upload.x12",
                content_type="application/edi-x12",
                purpose="billing.x12",
                max_bytes=max_upload_bytes(),
                actor=actor.user,
            )
            stored_name = blob.storage_name
            spooled.seek(0)
            source = X12File.objects.create(
                organization=organization,
                client=client,
                kind=FileKind.REMITTANCE_835,
                blob=blob,
                sha256=sha256,
                interchange_control_number=interchange.control_number[:9],
                sender_id=interchange.sender_id[:15],
                usage_indicator=interchange.usage_indicator[:1],
                imported_by=actor.user,
            )
            writer = _Writer(actor, client, cipher_for(organization), source)
            for done, item in enumerate(_items(spooled), start=1):
                if isinstance(item, x12.Claim):
                    writer.claim(item)
                    writer.result.kinds.add(item.kind)
                elif isinstance(item, x12.ClaimPayment):
                    writer.payment(item)
                    writer.result.kinds.add("835")
                else:
                    writer.provider_adjustment(item)
                    writer.result.kinds.add("835")
                if progress is not None:
                    progress(done)
            result = writer.result
            if len(result.kinds) != 1:
                raise ImportRefused(
                    "The interchange mixes claims and payments; import them as separate files."
                )
            source.kind = _FILE_KIND.get(next(iter(result.kinds)), FileKind.REMITTANCE_835)
            source.claims = result.claims + result.payments
            source.transactions = len({*writer.remittances}) or 1
            source.save(update_fields=["kind", "claims", "transactions", "updated_at"])
            _observe_flow(organization, client, channel, source.kind, writer)
            audit_event_record(
                actor=actor.user,
                organization=organization,
                event_code=EventCode.BILLING_FILE_IMPORTED,
                target=source,
                purpose=Purpose.PAYMENT,
                data={
                    "client_id": client.pk,
                    "kind": source.kind,
                    "claims": result.claims,
                    "payments": result.payments,
                    "unmatched": result.unmatched_payments,
                    "test_file": interchange.usage_indicator == "T",
                },
            )
            return result
    except BlobTooLarge as error:
        raise ImportRefused("The file is larger than the upload limit.") from error
    except BaseException:
        if stored_name:
            blob_storage().delete(stored_name)  # the row rolled back; remove the ciphertext
        raise
