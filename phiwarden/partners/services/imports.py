"""CSV import of vendors and clients: validate every row first, report errors by row
number, and write all rows or none. A dry run stops after validation. Importing the same
file twice changes nothing the second time (rows match existing parties by name)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.services import client_create
from phiwarden.audit.codes import EventCode
from phiwarden.partners.models import Vendor
from phiwarden.partners.services.events import manager_require, record
from phiwarden.partners.services.parties import (
    ClientProfileData,
    VendorData,
    clean_phi_classes,
    clean_states,
    client_profile_get_or_new,
    client_profile_update,
    vendor_create,
    vendor_update,
)

MAX_ROWS = 5000
MAX_BYTES = 1_000_000


class ImportKind(StrEnum):
    VENDORS = "vendors"
    CLIENTS = "clients"


VENDOR_COLUMNS = (
    "name",
    "kind",
    "services",
    "phi_classes",
    "handles_phi",
    "risk_tier",
    "contact_name",
    "contact_email",
)
CLIENT_COLUMNS = (
    "name",
    "contact_name",
    "contact_email",
    "contact_phone",
    "privacy_officer_name",
    "privacy_officer_email",
    "privacy_officer_phone",
    "states_served",
)
COLUMNS = {ImportKind.VENDORS: VENDOR_COLUMNS, ImportKind.CLIENTS: CLIENT_COLUMNS}
REQUIRED = {ImportKind.VENDORS: ("name",), ImportKind.CLIENTS: ("name",)}


@dataclass(frozen=True)
class RowError:
    row: int  # the line in the file; the header is row 1
    column: str
    message: str


@dataclass
class ImportReport:
    kind: ImportKind
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return not self.dry_run and not self.errors


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace(",", ";").split(";") if part.strip()]


def _yes_no(value: str) -> bool:
    text = value.strip().lower()
    if text in ("", "yes", "y", "true", "1"):
        return True
    if text in ("no", "n", "false", "0"):
        return False
    raise ValidationError("Write yes or no.")


def _email(value: str) -> str:
    text = value.strip()
    if text:
        validate_email(text)
    return text


def _choice(choices: list[str], default: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        text = value.strip().lower() or default
        if text not in choices:
            raise ValidationError(f"Use one of: {', '.join(choices)}.")
        return text

    return parse


def _text(limit: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        text = value.strip()
        if len(text) > limit:
            raise ValidationError(f"At most {limit} characters.")
        return text

    return parse


def _phi_classes(value: str) -> list[str]:
    return clean_phi_classes(_split(value))


def _states(value: str) -> list[str]:
    return clean_states(_split(value.replace(" ", ";")))


PARSERS: dict[ImportKind, dict[str, Callable[[str], object]]] = {
    ImportKind.VENDORS: {
        "name": _text(200),
        "kind": _choice(Vendor.Kind.values, Vendor.Kind.OTHER),
        "services": _text(500),
        "phi_classes": _phi_classes,
        "handles_phi": _yes_no,
        "risk_tier": _choice(Vendor.RiskTier.values, Vendor.RiskTier.HIGH),
        "contact_name": _text(200),
        "contact_email": _email,
    },
    ImportKind.CLIENTS: {
        "name": _text(200),
        "contact_name": _text(200),
        "contact_email": _email,
        "contact_phone": _text(40),
        "privacy_officer_name": _text(200),
        "privacy_officer_email": _email,
        "privacy_officer_phone": _text(40),
        "states_served": _states,
    },
}


def _message(error: ValidationError) -> str:
    return " ".join(error.messages)


def _parse(
    kind: ImportKind, text: str, report: ImportReport
) -> list[tuple[int, dict[str, object]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED[kind] if c not in header]
    unknown = [c for c in header if c not in COLUMNS[kind]]
    if missing or unknown:
        problems = [f"missing column {c!r}" for c in missing]
        problems += [f"unknown column {c!r}" for c in unknown]
        report.errors.append(RowError(1, "", "; ".join(problems) + "."))
        return []
    reader.fieldnames = header
    parsed: list[tuple[int, dict[str, object]]] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(reader, start=2):
        if index - 1 > MAX_ROWS:
            report.errors.append(RowError(index, "", f"More than {MAX_ROWS} rows."))
            break
        if None in raw:
            report.errors.append(RowError(index, "", "More cells than columns."))
            continue
        values: dict[str, object] = {}
        for column, parse in PARSERS[kind].items():
            if column not in header:
                continue
            try:
                values[column] = parse(raw.get(column) or "")
            except ValidationError as error:
                report.errors.append(RowError(index, column, _message(error)))
        name = str(values.get("name", ""))
        if not name:
            report.errors.append(RowError(index, "name", "A name is required."))
        elif name.lower() in seen:
            report.errors.append(RowError(index, "name", f"Same name as row {seen[name.lower()]}."))
        else:
            seen[name.lower()] = index
        parsed.append((index, values))
    report.rows = len(parsed)
    return parsed


def _vendor_row(actor: Membership, values: dict[str, object], apply: bool) -> str:
    existing = (
        Vendor.objects.for_organization(actor.organization)
        .filter(name__iexact=str(values["name"]))
        .first()
    )
    base = (
        VendorData(name=str(values["name"]))
        if existing is None
        else VendorData(
            name=existing.name,
            kind=existing.kind,
            services=existing.services,
            phi_classes=list(existing.phi_classes),
            handles_phi=existing.handles_phi,
            risk_tier=existing.risk_tier,
            contact_name=existing.contact_name,
            contact_email=existing.contact_email,
        )
    )
    for key, value in values.items():
        if key != "name":
            setattr(base, key, value)
    if existing is None:
        if apply:
            vendor_create(actor=actor, data=base)
        return "created"
    if base.cleaned() == {k: getattr(existing, k) for k in base.cleaned()}:
        return "unchanged"
    if apply:
        vendor_update(actor=actor, vendor=existing, data=base)
    return "updated"


def _client_row(actor: Membership, values: dict[str, object], apply: bool) -> str:
    name = str(values["name"])
    client = Client.objects.for_organization(actor.organization).filter(name__iexact=name).first()
    outcome = "created" if client is None else "unchanged"
    if client is None:
        if not apply:
            return outcome
        client = client_create(actor=actor, name=name)
    profile = client_profile_get_or_new(client)
    data = ClientProfileData(
        **{f: getattr(profile, f) for f in ClientProfileData.__dataclass_fields__}
    )
    for key, value in values.items():
        if key != "name":
            setattr(data, key, value)
    current = {f: getattr(profile, f) for f in ClientProfileData.__dataclass_fields__}
    if profile.pk is not None and vars(data) == current:
        return outcome
    if profile.pk is None and not any(v for v in vars(data).values()):
        return outcome
    if apply:
        client_profile_update(actor=actor, client=client, data=data)
    return "updated" if outcome == "unchanged" else outcome


def partners_import(*, actor: Membership, kind: str, text: str, dry_run: bool) -> ImportReport:
    """Validate the whole file; then (unless a dry run, and only if no row has an error)
    apply every row in one transaction, each change audited, plus one summary event."""
    manager_require(actor)
    try:
        import_kind = ImportKind(kind)
    except ValueError:
        raise ValidationError({"kind": "Import vendors or clients."}) from None
    report = ImportReport(kind=import_kind, dry_run=dry_run)
    if len(text.encode()) > MAX_BYTES:
        report.errors.append(RowError(1, "", f"The file is larger than {MAX_BYTES} bytes."))
        return report
    rows = _parse(import_kind, text.lstrip("\ufeff"), report)
    if report.errors:
        return report
    handle = _vendor_row if import_kind is ImportKind.VENDORS else _client_row
    apply = not dry_run
    with transaction.atomic():
        for _row, values in rows:
            outcome = handle(actor, values, apply)
            setattr(report, outcome, getattr(report, outcome) + 1)
        if apply and (report.created or report.updated):
            record(
                actor,
                actor.organization,
                EventCode.PARTNERS_IMPORTED,
                None,
                {"kind": import_kind.value, "created": report.created, "updated": report.updated},
            )
    return report
