"""Breach notification documents: the notice letters and per-client patient lists, the
incident's full file as a PDF, and the HHS breach log export.

- Our notice to a covered-entity client (45 CFR 164.410(c)): a letter with what the client
  needs for its own notices, and the list of its affected individuals (the identity of
  each, read through the billing PHI door and audited with every patient id).
- Drafts for the client's own notices: individuals (164.404(c)), HHS (the breach portal's
  fields, 164.408) and media (164.406(c)). These hold the incident's facts, never PHI.
- The incident's full file (timeline, assessments, notices, actions, root cause) and the
  breach log in the HHS portal's fields, for the documentation kept six years (164.530(j)).

Files are encrypted at rest in the vault; a sent notice's documents never change, so the
file shows what was sent. Every download is audited. File names carry the incident
reference and the notice id, never PHI.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.billing import scoping as billing_scoping
from phiwarden.core.exports import Cell, csv_lines, xlsx_bytes
from phiwarden.incidents import selectors
from phiwarden.incidents.models import Incident, Notice, ScopingRun
from phiwarden.incidents.services.assessment import current_assessment
from phiwarden.incidents.services.containment import manage_require
from phiwarden.incidents.services.reports import incident_description
from phiwarden.vault.blobs import blob_discard, blob_read, blob_store
from phiwarden.vault.models import EncryptedBlob

PDF = "application/pdf"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BLOB_PURPOSE = "incidents.notice"
FILE_KINDS = ("letter", "patients", "individual_draft")
R = Notice.Recipient

# Placeholders the client fills in before sending its own notices; marked so they stand out.
PLACEHOLDER = "[CLIENT TO COMPLETE: {what}]"


@dataclass(frozen=True)
class DocumentOut:
    filename: str
    content_type: str
    content: bytes


# --- Rendering ----------------------------------------------------------------------------


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint with no base URL and a fetcher that refuses every URL: rendering never
    reaches the network or the file system (as the flow-map PDF)."""
    from weasyprint import HTML  # type: ignore[import-untyped]
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    pdf: bytes = HTML(
        string=html, base_url=None, url_fetcher=URLFetcher(allowed_protocols=())
    ).write_pdf()
    return pdf


def _pdf(template: str, context: dict[str, Any]) -> bytes:
    return html_to_pdf(render_to_string(f"incidents/pdf/{template}", context))


def _placeholder(what: str) -> str:
    return PLACEHOLDER.format(what=what)


# --- Facts shared by the letters ----------------------------------------------------------


def _officer(incident: Incident) -> dict[str, str]:
    """Our contact: an active privacy officer (a security officer if there is none)."""
    members = Membership.objects.filter(organization_id=incident.organization_id).active()
    for role in (Role.PRIVACY_OFFICER, Role.SECURITY_OFFICER):
        found = members.filter(role=role).select_related("user").order_by("pk").first()
        if found is not None:
            return {
                "name": found.user.get_full_name(),
                "email": found.user.email,
                "title": str(role.label),
            }
    return {"name": _placeholder("privacy officer name"), "email": "", "title": "Privacy officer"}


def _delay(incident: Incident) -> dict[str, Any] | None:
    delay = incident.law_enforcement_delay()
    if delay is None:
        return None
    return {
        "kind": delay.kind.value,
        "stated_on": delay.stated_on,
        "until": delay.written_until,
        "written_received_on": delay.written_received_on,
        "agency": incident.delay_agency,
    }


def _steps_taken(incident: Incident) -> dict[str, Any]:
    return {
        "steps": list(incident.steps.filter(done_at__isnull=False).order_by("done_at", "pk")),
        "actions": list(incident.actions.select_related("owner").order_by("due_on", "pk")),
    }


def _facts(incident: Incident, scoping: ScopingRun) -> dict[str, Any]:
    """What every letter and draft says about the incident (no narrative, no PHI)."""
    classes = sorted(scoping.phi_classes)
    return {
        "organization": incident.organization,
        "incident": incident,
        "kind": incident.get_kind_display(),
        "phi_classes": classes,
        "phi_types": selectors.phi_types(classes),
        "delay": _delay(incident),
        "officer": _officer(incident),
        "today": timezone.localdate(),
        **_steps_taken(incident),
    }


def _client_deadlines(notice: Notice) -> list[Notice]:
    return list(
        Notice.objects.filter(incident_id=notice.incident_id, client_id=notice.client_id)
        .exclude(recipient=R.CLIENT)
        .order_by("due_on", "recipient", "state")
    )


def _base_name(notice: Notice) -> str:
    return f"{notice.incident.reference}-notice-{notice.pk}"


# --- The documents of one notice -----------------------------------------------------------


def _client_letter(actor: Membership, notice: Notice, patients: int, patients_file: str) -> bytes:
    incident = notice.incident
    context = {
        **_facts(incident, notice.scoping),
        "notice": notice,
        "client": notice.client,
        "individuals": patients,
        "patients_file": patients_file,
        "narrative": incident_description(actor=actor, incident=incident),
        "client_notices": _client_deadlines(notice),
    }
    return _pdf("client_letter.html", context)


def _individual_draft(notice: Notice) -> bytes:
    context = {
        **_facts(notice.incident, notice.scoping),
        "client": notice.client,
    }
    return _pdf("individual_draft.html", context)


def _media_draft(notice: Notice) -> bytes:
    residents = int(
        notice.scoping.by_client_state.get(str(notice.client_id), {}).get(notice.state, 0)
    )
    context = {
        **_facts(notice.incident, notice.scoping),
        "client": notice.client,
        "notice": notice,
        "residents": residents,
    }
    return _pdf("media_draft.html", context)


def _hhs_rows(notice: Notice) -> list[tuple[str, str]]:
    incident = notice.incident
    facts = _facts(incident, notice.scoping)
    actions = [s.title for s in facts["steps"]] + [a.description for a in facts["actions"]]
    individual_notice = (
        Notice.objects.filter(incident=incident, client=notice.client, recipient=R.INDIVIDUALS)
        .values_list("sent_at", flat=True)
        .first()
    )

    def day(value: dt.date | None) -> str:
        return value.isoformat() if value else ""

    return [
        ("Covered entity", notice.client.name),
        ("Business associate", incident.organization.name),
        ("Breach start date", day(incident.occurred_on)),
        ("Breach end date", day(incident.ended_on)),
        ("Discovery date", day(incident.discovered_on)),
        ("Approximate number of individuals affected", str(notice.individuals)),
        ("Type of breach", selectors.BREACH_TYPES[incident.kind]),
        ("Location of breached information", incident.get_location_display()),
        ("Type of protected health information involved", ", ".join(facts["phi_types"])),
        ("Kinds of information", ", ".join(facts["phi_classes"])),
        ("Safeguards in place prior to breach", incident.safeguards_before),
        ("Actions taken in response to breach", "; ".join(actions)),
        (
            "Date individual notice provided",
            day(individual_notice.date()) if individual_notice else "",
        ),
        ("Due date of this report", day(notice.due_on)),
        ("Citation", notice.citation),
    ]


def _hhs_sheet(notice: Notice) -> bytes:
    context = {
        **_facts(notice.incident, notice.scoping),
        "client": notice.client,
        "notice": notice,
        "rows": _hhs_rows(notice),
    }
    return _pdf("hhs_summary.html", context)


def _patients_csv(rows: Sequence[dict[str, str]]) -> bytes:
    columns = billing_scoping.NOTICE_COLUMNS
    lines = csv_lines(
        [label for _key, label in columns], ([row[key] for key, _label in columns] for row in rows)
    )
    return "".join(lines).encode("utf-8")


def _patient_ids_in(csv_bytes: bytes) -> list[int]:
    reader = csv.reader(io.StringIO(csv_bytes.decode("utf-8")))
    next(reader, None)
    return sorted(int(row[0]) for row in reader if row and row[0].isdigit())


def _store(actor: Membership, content: bytes, filename: str, content_type: str) -> EncryptedBlob:
    return blob_store(
        organization=actor.organization,
        stream=io.BytesIO(content),
        filename=filename,
        content_type=content_type,
        purpose=BLOB_PURPOSE,
        actor=actor.user,
    )


def notice_generate(*, actor: Membership, notice: Notice) -> Notice:
    """Render and store the notice's documents (a CLIENT notice: its letter and patient
    list; the client's own notices: a draft letter or summary sheet). Regenerating an
    unsent notice replaces (and deletes) its documents; a sent notice's documents never change."""
    incident = notice.incident
    manage_require(actor, incident)
    if notice.organization_id != actor.organization_id:
        raise PermissionDenied
    in_force = current_assessment(incident)
    if not notice.assessment.is_breach or in_force is None or not in_force.is_breach:
        raise ValidationError("Notices follow a signed breach decision.")
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update()
            .select_related("incident", "client", "scoping", "assessment")
            .get(pk=notice.pk)
        )
        if notice.is_sent:
            raise ValidationError("This notice was sent; its documents no longer change.")
        base = _base_name(notice)
        patient_ids: list[int] = []
        patient_list: EncryptedBlob | None = None
        if notice.recipient == R.CLIENT:
            rows = billing_scoping.notice_patient_rows(
                membership=actor,
                client_id=notice.client_id,
                patient_ids=notice.scoping.patient_ids,
                target=notice,
            )
            patient_ids = [int(row["ref"]) for row in rows]
            patients_file = f"{base}-patients.csv"
            patient_list = _store(actor, _patients_csv(rows), patients_file, CSV)
            letter = _client_letter(actor, notice, len(rows), patients_file)
        elif notice.recipient == R.INDIVIDUALS:
            letter = _individual_draft(notice)
        elif notice.recipient == R.HHS:
            letter = _hhs_sheet(notice)
        else:
            letter = _media_draft(notice)
        superseded = [blob for blob in (notice.letter, notice.patient_list) if blob is not None]
        notice.letter = _store(actor, letter, f"{base}-letter.pdf", PDF)
        notice.patient_list = patient_list
        notice.generated_at = timezone.now()
        notice.save(update_fields=["letter", "patient_list", "generated_at"])
        # An unsent draft is replaced, not kept: superseded patient lists are PHI nobody
        # needs (the audit trail keeps that they were generated and downloaded).
        for blob in superseded:
            blob_discard(blob)
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_NOTICE_GENERATED,
            target=incident,
            data={
                "notice": notice.pk,
                "recipient": notice.recipient,
                "client": notice.client_id,
                "individuals": len(patient_ids) if notice.recipient == R.CLIENT else None,
            },
        )
    return notice


def _download_require(actor: Membership, incident: Incident) -> None:
    capability_require(actor, Capability.INCIDENTS_MANAGE)
    if incident.organization_id != actor.organization_id:
        raise PermissionDenied


def notice_file(*, actor: Membership, notice: Notice, kind: str) -> DocumentOut:
    """A notice's document, decrypted: "letter" (the stored PDF), "patients" (the stored
    CSV of a client notice) or "individual_draft" (rendered now; no PHI in it)."""
    if kind not in FILE_KINDS:
        raise ValidationError("Unknown document.")
    _download_require(actor, notice.incident)
    base = _base_name(notice)
    patient_ids: list[int] = []
    if kind == "individual_draft":
        out = DocumentOut(f"{base}-individual-draft.pdf", PDF, _individual_draft(notice))
    else:
        blob = notice.letter if kind == "letter" else notice.patient_list
        if blob is None:
            raise ValidationError("Generate the notice first.")
        content = b"".join(blob_read(blob))
        if kind == "patients":
            patient_ids = _patient_ids_in(content)
            out = DocumentOut(f"{base}-patients.csv", CSV, content)
        else:
            out = DocumentOut(f"{base}-letter.pdf", PDF, content)
    with transaction.atomic():
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_NOTICE_DOWNLOADED,
            target=notice.incident,
            data={"notice": notice.pk, "kind": kind, "client": notice.client_id},
            patient_ids=patient_ids,
            fields_disclosed=billing_scoping.NOTICE_FIELDS if patient_ids else (),
        )
    return out


# --- The incident's file and the breach log -------------------------------------------------


def _scoping_rows(incident: Incident) -> list[dict[str, Any]]:
    names = dict(Client.objects.for_organization(incident.organization).values_list("pk", "name"))
    rows = []
    for run in incident.scopings.order_by("computed_at", "pk"):
        rows.append(
            {
                "run": run,
                "by_client": sorted(
                    (names.get(int(pk), f"client {pk}"), n) for pk, n in run.by_client.items()
                ),
                "by_state": sorted(run.by_state.items()),
            }
        )
    return rows


def timeline_pdf(*, actor: Membership, incident: Incident) -> DocumentOut:
    """The incident's full file: facts, timeline, scoping counts, every assessment version,
    notices with their deadlines, corrective actions and the root cause. Counts only: no
    narrative and no patient-identifying values."""
    _download_require(actor, incident)
    notices = list(incident.notices.select_related("client", "sent_by").order_by("due_on", "pk"))
    context = {
        "organization": incident.organization,
        "incident": incident,
        "clients": list(incident.clients.order_by("name")),
        "delay": _delay(incident),
        "timeline": selectors.timeline(incident),
        "scopings": _scoping_rows(incident),
        "assessments": list(
            incident.assessments.select_related("signed_by", "created_by").order_by("version")
        ),
        "notices": [{"notice": n, "on_time": n.sent_on_time()} for n in notices],
        "actions": list(incident.actions.select_related("owner", "verified_by")),
        "steps": list(incident.steps.select_related("done_by").order_by("position", "pk")),
        "generated_at": timezone.now(),
    }
    content = _pdf("timeline.html", context)
    with transaction.atomic():
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_EXPORTED,
            target=incident,
            data={"what": "timeline", "format": "pdf"},
        )
    return DocumentOut(f"{incident.reference}-file.pdf", PDF, content)


BREACH_LOG_HEADER = (
    "Incident",
    "Covered entity",
    "Breach start date",
    "Breach end date",
    "Discovery date",
    "Approximate number of individuals",
    "Type of breach",
    "Location of breached information",
    "Type of PHI",
    "Safeguards in place",
    "Actions taken",
    "Date individual notice provided",
)


def _breach_log_cells(row: selectors.BreachLogRow) -> list[Cell]:
    return [
        row.incident.reference,
        row.client.name,
        row.breach_start,
        row.breach_end,
        row.discovered_on,
        row.individuals,
        row.breach_type,
        row.location,
        ", ".join(row.phi_types),
        row.safeguards_before,
        row.actions_taken,
        row.notice_to_individuals_on,
    ]


def breach_log_export(*, actor: Membership, year: int, fmt: str) -> DocumentOut:
    """The year's breach log in the HHS breach portal's fields, one row per breach and
    covered entity (164.408(c): breaches of fewer than 500 are reported within 60 days of
    the year's end)."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationError("Choose CSV or XLSX.")
    rows = [_breach_log_cells(row) for row in selectors.breach_log(actor, year)]
    if fmt == "csv":
        content = "".join(csv_lines(BREACH_LOG_HEADER, rows)).encode("utf-8")
        out = DocumentOut(f"breach-log-{year}.csv", CSV, content)
    else:
        content = xlsx_bytes(f"Breach log {year}", BREACH_LOG_HEADER, rows)
        out = DocumentOut(f"breach-log-{year}.xlsx", XLSX, content)
    with transaction.atomic():
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_EXPORTED,
            data={"what": "breach_log", "year": year, "format": fmt, "rows": len(rows)},
        )
    return out
