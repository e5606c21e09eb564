"""JSON shapes of the incidents API. Outputs list their fields and read them from the
models (`from_attributes`); nothing is serialized wholesale. The reporter's narrative is
never part of an incident's shape (it has its own audited endpoint), and a scoping run's
patient ids never leave: only counts by client and by state, and the PHI classes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from ninja import Field, Schema

from phiwarden.incidents.models import Incident, Notice

# --- Incidents ---------------------------------------------------------------------------


class IncidentIn(Schema):
    kind: str
    title: str
    description: str
    discovered_on: dt.date
    discovery_basis: str = Incident.DiscoveryBasis.KNOWN.value
    occurred_on: dt.date | None = None
    systems: str = ""
    data_involved: str = ""
    vendor_id: int | None = None
    client_ids: list[int] = []


class IncidentPatch(Schema):
    """Only the fields sent change; null clears a date."""

    kind: str | None = None
    title: str | None = None
    discovered_on: dt.date | None = None
    discovery_basis: str | None = None
    occurred_on: dt.date | None = None
    ended_on: dt.date | None = None
    location: str | None = None
    systems: str | None = None
    data_involved: str | None = None
    client_ids: list[int] | None = None
    # 45 CFR 164.412: a law-enforcement statement that notice would impede an investigation.
    delay_kind: str | None = None
    delay_stated_on: dt.date | None = None
    delay_until: dt.date | None = None
    delay_written_received_on: dt.date | None = None
    delay_agency: str | None = None
    safeguards_before: str | None = None


class IncidentOut(Schema):
    id: int
    reference: str
    kind: str
    title: str
    status: str
    systems: str
    data_involved: str
    location: str
    occurred_on: dt.date | None
    ended_on: dt.date | None
    discovered_on: dt.date
    discovery_basis: str
    reported_by_id: int
    officers_notified_at: dt.datetime | None
    vendor_id: int | None
    vendor_baa_id: int | None
    client_ids: list[int]
    delay_kind: str
    delay_stated_on: dt.date | None
    delay_until: dt.date | None
    delay_written_received_on: dt.date | None
    delay_agency: str
    safeguards_before: str
    root_cause: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    closed_by_id: int | None

    @staticmethod
    def resolve_client_ids(obj: Incident | dict[str, Any]) -> list[int]:
        if isinstance(obj, dict):  # a shape extended with more fields (the detail)
            return list(obj["client_ids"])
        return sorted(client.pk for client in obj.clients.all())


class IncidentPageOut(Schema):
    rows: list[IncidentOut]
    next_after: int | None


class DescriptionOut(Schema):
    incident_id: int
    description: str


class StepOut(Schema):
    id: int
    key: str
    title: str
    action: str
    position: int
    done_at: dt.datetime | None
    done_by_id: int | None
    note: str
    target_membership_id: int | None
    target_vendor_id: int | None


class StepIn(Schema):
    """A step done by hand takes a note; a one-click step names the member or vendor."""

    note: str = ""
    membership_id: int | None = None
    vendor_id: int | None = None


class ClientDeadlineOut(Schema):
    client_id: int
    client_name: str
    key: str
    title: str
    due_on: dt.date
    days_left: int
    citation: str
    delayed_from: dt.date | None
    notice_id: int | None
    notice_sent_at: dt.datetime | None


class SnapshotOut(Schema):
    id: int
    taken_at: dt.datetime
    taken_by_id: int
    query: dict[str, Any]
    tree_size: int
    root_hash_hex: str
    event_count: int
    events_digest: str
    events_unsealed: int


class EvidenceIn(Schema):
    actor_ids: list[int] = []
    token_prefixes: list[str] = []
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class ScopeIn(EvidenceIn):
    file_ids: list[int] = []


class ScopingOut(Schema):
    """Counts only: the run's patient ids stay in the database."""

    id: int
    computed_at: dt.datetime
    computed_by_id: int
    query: dict[str, Any]
    individuals: int
    events: int
    viewed_events: int
    by_client: dict[str, int]
    by_state: dict[str, int]
    by_client_state: dict[str, dict[str, int]]
    phi_classes: list[str]


# --- Assessment --------------------------------------------------------------------------


class AssessmentIn(Schema):
    """The fields sent change; the rest keep what the open version holds (at first, what
    the system prefilled from the latest scoping)."""

    nature_extent: str | None = None
    recipient: str | None = None
    acquired: str | None = None
    acquired_notes: str | None = None
    mitigation: str | None = None
    phi_secured: bool | None = None
    exception: str | None = None
    decision: str | None = None
    reasons: str | None = None
    scoping_id: int | None = None


class AssessmentOut(Schema):
    id: int
    version: int
    scoping_id: int | None
    nature_extent: str
    recipient: str
    acquired: str
    acquired_notes: str
    mitigation: str
    phi_secured: bool
    exception: str
    decision: str
    reasons: str
    created_at: dt.datetime
    created_by_id: int
    signed_at: dt.datetime | None
    signed_by_id: int | None
    is_signed: bool


# --- Notices -----------------------------------------------------------------------------


class NoticeOut(Schema):
    id: int
    recipient: str
    client_id: int
    state: str
    assessment_id: int
    scoping_id: int
    individuals: int
    due_on: dt.date
    days_left: int
    citation: str
    has_letter: bool
    has_patient_list: bool
    generated_at: dt.datetime | None
    sent_at: dt.datetime | None
    sent_by_id: int | None
    sent_method: str
    sent_on_time: bool | None
    acknowledged_at: dt.datetime | None
    acknowledged_note: str

    @staticmethod
    def resolve_days_left(obj: Notice) -> int:
        return (obj.due_on - timezone.localdate()).days

    @staticmethod
    def resolve_has_letter(obj: Notice) -> bool:
        return obj.letter_id is not None

    @staticmethod
    def resolve_has_patient_list(obj: Notice) -> bool:
        return obj.patient_list_id is not None

    @staticmethod
    def resolve_sent_on_time(obj: Notice) -> bool | None:
        return obj.sent_on_time()


class SentIn(Schema):
    method: str
    sent_at: dt.datetime | None = None


class AcknowledgeIn(Schema):
    note: str = ""


# --- Corrective actions and close-out ----------------------------------------------------


class ActionIn(Schema):
    description: str
    owner_id: int
    due_on: dt.date
    risk_reference: str = ""


class ActionOut(Schema):
    id: int
    description: str
    owner_id: int
    due_on: dt.date
    risk_reference: str
    done_at: dt.datetime | None
    verified_at: dt.datetime | None
    verified_by_id: int | None
    verification: str
    created_at: dt.datetime


class VerifyIn(Schema):
    verification: str


class CloseIn(Schema):
    root_cause: str


class AssessmentStateOut(Schema):
    in_force: AssessmentOut | None  # the newest signed version: the decision in force
    open: AssessmentOut | None  # the unsigned version being written, if any
    versions: list[AssessmentOut]  # newest first


class IncidentDetailOut(IncidentOut):
    steps: list[StepOut]
    deadlines: list[ClientDeadlineOut]
    earliest_due_on: dt.date | None
    scoping: ScopingOut | None
    snapshots: list[SnapshotOut]
    assessments: list[AssessmentOut]
    notices: list[NoticeOut]
    actions: list[ActionOut]
    close_blockers: list[str]


# --- Timeline and breach log -------------------------------------------------------------


class TimelineEntryOut(Schema):
    at: dt.datetime
    what: str
    who: str


class TimelineOut(Schema):
    incident_id: int
    reference: str
    entries: list[TimelineEntryOut]


class BreachLogRowOut(Schema):
    """One breach for one covered entity, in the fields of the HHS breach portal; read from
    `selectors.BreachLogRow` (the dotted aliases reach into its incident, assessment and
    client; the JSON keys are the field names)."""

    incident_id: int = Field(alias="incident.pk")
    reference: str = Field(alias="incident.reference")
    assessment_version: int = Field(alias="assessment.version")
    client_id: int = Field(alias="client.pk")
    client_name: str = Field(alias="client.name")
    breach_start: dt.date | None
    breach_end: dt.date | None
    discovered_on: dt.date
    individuals: int
    breach_type: str
    location: str
    phi_types: list[str]
    safeguards_before: str
    actions_taken: str
    notice_to_individuals_on: dt.date | None


class BreachLogOut(Schema):
    year: int
    rows: list[BreachLogRowOut]


class ErrorOut(Schema):
    detail: str
