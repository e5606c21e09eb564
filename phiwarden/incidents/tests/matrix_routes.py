"""The incidents pages and API in the authorization matrix (see core/tests/matrix.py).

Every allowed POST must change something, and some actions exclude each other on one
object (a notice cannot be both unsent, to mark it sent, and sent, to record its
acknowledgement; an incident cannot both have open steps and be ready to close). So the
world holds two incidents:

- `incident_id`: ready to close. Its steps are done, a breach assessment is signed (v1),
  the client's notice is generated and sent (`client_notice_id`), its single corrective
  action is verified. The notice to individuals (`notice_id`) is generated, not sent;
  `hhs_notice_id`, when the scope needs one, is planned only.
- `open_incident_id`: in progress. A manual step (`step_id`) and a one-click step
  (`action_step_id`) are open, a draft assessment (`assessment_id`) is ready to sign, and
  a corrective action (`action_id`) is open.
"""

from __future__ import annotations

import datetime as dt
import io

from django.db import models
from django.utils import timezone

from phiwarden.accounts.roles import Capability, Role
from phiwarden.audit.codes import EventCode
from phiwarden.billing.models import X12File
from phiwarden.core.tests.matrix import GET_POST, POST, Contribution, OrgRoute, Param, TenantSeed
from phiwarden.incidents import documents, services
from phiwarden.incidents.models import (
    Assessment,
    ContainmentStep,
    CorrectiveAction,
    EvidenceSnapshot,
    Incident,
    Notice,
    ScopingRun,
)
from phiwarden.incidents.scoping import ScopeQuery
from phiwarden.incidents.tests.matrix_api import API_ROUTES

__all__ = ["API_ROUTES", "ORG_ROUTES", "SNAPSHOT_MODELS", "build"]

C = Capability
REPORT, MANAGE = C.INCIDENTS_REPORT, C.INCIDENTS_MANAGE
WINDOW = {"since": "2025-02-01T00:00", "until": "2025-03-03T00:00"}

ORG_ROUTES = {
    "incidents:list": OrgRoute(REPORT),
    "incidents:report": OrgRoute(
        REPORT,
        GET_POST,
        form={
            "kind": "phishing",
            "title": "Matrix reported phish",
            "description": "A synthetic message asked for a password.",
            "discovered_on": "2025-03-02",
            "discovery_basis": "known",
        },
    ),
    # A reporter sees their own incident; the world's incidents are the owner's.
    "incidents:detail": OrgRoute(MANAGE),
    "incidents:edit": OrgRoute(
        MANAGE,
        GET_POST,
        form={
            "kind": "misdirected",
            "title": "Matrix corrected label",
            "discovered_on": "2025-03-01",
            "discovery_basis": "known",
            "clients": [Param("client_id")],
        },
    ),
    "incidents:step": OrgRoute(MANAGE, POST, form={"note": "Matrix step note"}),
    "incidents:evidence": OrgRoute(
        MANAGE, POST, form={"members": [Param("scope_user_id")], **WINDOW}
    ),
    "incidents:scope": OrgRoute(
        MANAGE, GET_POST, form={"members": [Param("scope_user_id")], **WINDOW}
    ),
    "incidents:assessment": OrgRoute(
        MANAGE,
        GET_POST,
        form={
            "acquired": "no",
            "decision": "not_breach",
            "exception": "good_faith_workforce",
            "reasons": "Matrix reasons, changed.",
        },
    ),
    "incidents:assessment-sign": OrgRoute(MANAGE, POST),
    "incidents:assessment-new": OrgRoute(MANAGE, POST),
    "incidents:notice-generate": OrgRoute(MANAGE, POST),
    "incidents:notice-download": OrgRoute(MANAGE),
    "incidents:notice-sent": OrgRoute(
        MANAGE, POST, form={"notice": Param("notice_id"), "method": "Matrix courier"}
    ),
    "incidents:notice-ack": OrgRoute(
        MANAGE, POST, form={"notice": Param("client_notice_id"), "note": "Matrix receipt"}
    ),
    "incidents:action-add": OrgRoute(
        MANAGE,
        POST,
        form={
            "description": "Matrix added action",
            "owner": Param("action_owner_id"),
            "due_on": "2025-04-01",
        },
    ),
    "incidents:action-done": OrgRoute(MANAGE, POST),
    "incidents:action-verify": OrgRoute(MANAGE, POST, form={"verification": "Matrix check"}),
    "incidents:close": OrgRoute(MANAGE, POST, form={"root_cause": "Matrix root cause"}),
    "incidents:timeline-pdf": OrgRoute(MANAGE),
    "incidents:breach-log": OrgRoute(MANAGE),
    "incidents:breach-log-export": OrgRoute(
        MANAGE,
        POST,
        form={"year": "2025", "fmt": "csv"},
        post_status=(200,),
        allowed_event=EventCode.INCIDENT_EXPORTED.value,
    ),
}

SNAPSHOT_MODELS: dict[type[models.Model], frozenset[str]] = {
    Incident: frozenset(),
    Incident.clients.through: frozenset(),
    ContainmentStep: frozenset(),
    EvidenceSnapshot: frozenset(),
    ScopingRun: frozenset(),
    Assessment: frozenset(),
    Notice: frozenset(),
    CorrectiveAction: frozenset(),
}


def _file_ids(seed: TenantSeed) -> list[int]:
    """The organization's imported files (the billing matrix imports some; if it has not,
    import a small synthetic batch here)."""
    files = X12File.objects.for_organization(seed.organization).order_by("pk")
    if not files.exists():
        from phiwarden.billing.imports import x12_import
        from phiwarden.billing.synthetic import generate_batch

        stream = io.BytesIO()
        generate_batch(seed=seed.organization.pk + 300, claims=3).write_837p(stream)
        stream.seek(0)
        x12_import(
            actor=seed.members[Role.OWNER], client=seed.client, stream=stream, filename="m.837"
        )
    return list(files.values_list("pk", flat=True))


def _report(seed: TenantSeed, kind: str, title: str, discovered_on: dt.date) -> Incident:
    return services.incident_report(
        actor=seed.members[Role.OWNER],
        data=services.ReportData(
            kind=kind,
            title=title,
            description=f"{title}: synthetic narrative for the matrix.",
            discovered_on=discovered_on,
            client_ids=[seed.client.pk],
        ),
    )


def _assessment(decision: str, scoping_id: int | None, **extra: str) -> services.AssessmentData:
    return services.AssessmentData(
        nature_extent="Names and dates of service of the file's patients.",
        recipient="A wrong fax number.",
        acquired=Assessment.Acquired.UNKNOWN,
        acquired_notes="",
        mitigation="Recipient asked to destroy it.",
        phi_secured=False,
        exception=extra.get("exception", ""),
        decision=decision,
        reasons="Matrix decision.",
        scoping_id=scoping_id,
    )


def _closable(seed: TenantSeed, label: str, discovered_on: dt.date) -> dict[str, object]:
    owner = seed.members[Role.OWNER]
    incident = _report(
        seed, Incident.Kind.MISDIRECTED, f"{label} remittance faxed astray", discovered_on
    )
    for step in incident.steps.all():
        services.containment_step_done(actor=owner, step=step, note="Matrix")
    run = services.scoping_run(
        actor=owner, incident=incident, query=ScopeQuery(file_ids=_file_ids(seed))
    )
    draft = services.assessment_start(actor=owner, incident=incident)
    services.assessment_save(
        actor=owner, assessment=draft, data=_assessment(Assessment.Decision.BREACH, run.pk)
    )
    services.assessment_sign(actor=owner, assessment=draft)
    notices = Notice.objects.filter(incident=incident)
    client_notice = notices.get(recipient=Notice.Recipient.CLIENT)
    individuals = notices.get(recipient=Notice.Recipient.INDIVIDUALS)
    client_notice = documents.notice_generate(actor=owner, notice=client_notice)
    individuals = documents.notice_generate(actor=owner, notice=individuals)
    services.notice_mark_sent(actor=owner, notice=client_notice, method="Secure e-mail")
    action = services.corrective_action_add(
        actor=owner,
        incident=incident,
        data=services.ActionData(
            description=f"{label} fax numbers re-verified", owner_id=owner.user_id,
            due_on=discovered_on + dt.timedelta(days=10),
        ),
    )  # fmt: skip
    services.corrective_action_done(actor=owner, action=action)
    services.corrective_action_verify(actor=owner, action=action, verification="Checked")
    hhs = notices.filter(recipient=Notice.Recipient.HHS).first()
    return {
        "incident_id": incident.pk,
        "notice_id": individuals.pk,
        "client_notice_id": client_notice.pk,
        "hhs_notice_id": (hhs or individuals).pk,
        "signed_assessment_id": draft.pk,
        "scoping_id": run.pk,
        "verified_action_id": action.pk,
        "kind": "letter",
    }


def _open(seed: TenantSeed, label: str, discovered_on: dt.date) -> dict[str, object]:
    owner = seed.members[Role.OWNER]
    incident = _report(
        seed, Incident.Kind.UNAUTHORIZED_ACCESS, f"{label} account browsed", discovered_on
    )
    draft = services.assessment_start(actor=owner, incident=incident)
    services.assessment_save(
        actor=owner,
        assessment=draft,
        data=_assessment(Assessment.Decision.NOT_BREACH, None, exception="good_faith_workforce"),
    )
    action = services.corrective_action_add(
        actor=owner,
        incident=incident,
        data=services.ActionData(
            description=f"{label} access review", owner_id=owner.user_id,
            due_on=discovered_on + dt.timedelta(days=20),
        ),
    )  # fmt: skip
    return {
        "open_incident_id": incident.pk,
        "step_id": incident.steps.get(key="officer-informed").pk,
        "action_step_id": incident.steps.get(key="end-sessions").pk,
        "assessment_id": draft.pk,
        "action_id": action.pk,
    }


def build(seed: TenantSeed) -> Contribution:
    label = seed.organization.name.split()[0]
    discovered_on = timezone.localdate() - dt.timedelta(days=2)
    params: dict[str, object] = {
        **_closable(seed, label, discovered_on),
        **_open(seed, label, discovered_on),
        "client_id": seed.client.pk,
        "scope_user_id": seed.members[Role.CODER].user_id,
        "action_owner_id": seed.members[Role.OWNER].user_id,
    }
    return Contribution(
        params=params,
        private_strings=[
            f"{label} remittance faxed astray",
            f"{label} account browsed",
            f"{label} fax numbers re-verified",
            f"{label} access review",
        ],
    )
