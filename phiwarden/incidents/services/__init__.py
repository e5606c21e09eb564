"""Every change to an incident goes through these functions: each checks the actor's
capability, validates, writes, and records an audit event in the same transaction."""

from phiwarden.incidents.services.assessment import (
    AssessmentData,
    assessment_save,
    assessment_sign,
    assessment_start,
)
from phiwarden.incidents.services.closeout import (
    ActionData,
    corrective_action_add,
    corrective_action_done,
    corrective_action_verify,
    incident_close,
)
from phiwarden.incidents.services.containment import (
    containment_action_run,
    containment_step_done,
    evidence_snapshot_take,
)
from phiwarden.incidents.services.notices import (
    notice_acknowledge,
    notice_mark_sent,
    notices_plan,
)
from phiwarden.incidents.services.reports import (
    IncidentFacts,
    ReportData,
    incident_description,
    incident_report,
    incident_update,
)
from phiwarden.incidents.services.scoping import scoping_run

__all__ = [
    "ActionData",
    "AssessmentData",
    "IncidentFacts",
    "ReportData",
    "assessment_save",
    "assessment_sign",
    "assessment_start",
    "containment_action_run",
    "containment_step_done",
    "corrective_action_add",
    "corrective_action_done",
    "corrective_action_verify",
    "evidence_snapshot_take",
    "incident_close",
    "incident_description",
    "incident_report",
    "incident_update",
    "notice_acknowledge",
    "notice_mark_sent",
    "notices_plan",
    "scoping_run",
]
