"""The four-factor risk assessment (45 CFR 164.402(2)) and its exceptions (164.402(1)).

An impermissible use or disclosure is presumed a breach unless the assessment shows a low
probability that the PHI was compromised. The officer starts from facts the system
already knows (the scope: PHI classes, individuals, clients, states; whether the events
actually returned PHI), decides with reasons, and signs. A signed version is locked:
changing it starts a new version that copies the old one, so the file shows what was
decided when.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.incidents.models import Assessment, Incident, ScopingRun
from phiwarden.incidents.services.containment import manage_require

D = Assessment.Decision


@dataclass(frozen=True)
class AssessmentData:
    nature_extent: str
    recipient: str
    acquired: str
    acquired_notes: str
    mitigation: str
    phi_secured: bool
    exception: str
    decision: str
    reasons: str
    scoping_id: int | None = None


def _prefill(incident: Incident, scoping: ScopingRun | None) -> dict[str, object]:
    """What the system can say about factors (i) and (iii) from its own records."""
    if scoping is None:
        return {
            "nature_extent": incident.data_involved,
            "acquired": Assessment.Acquired.UNKNOWN,
        }
    names = dict(Client.objects.filter(pk__in=scoping.client_ids()).values_list("pk", "name"))
    per_client = ", ".join(
        f"{names.get(int(client), client)}: {count}" for client, count in scoping.by_client.items()
    )
    states = ", ".join(f"{state}: {n}" for state, n in scoping.by_state.items())
    nature = (
        f"{scoping.individuals} individuals ({per_client or 'no client'}); "
        f"residents by state: {states or 'none'}. "
        f"PHI classes: {', '.join(scoping.phi_classes) or 'none recorded'}."
    )
    if scoping.events and scoping.viewed_events:
        acquired, notes = (
            Assessment.Acquired.YES,
            f"The audit trail shows {scoping.viewed_events} of {scoping.events} events in "
            "scope returned PHI fields to the screen or an export.",
        )
    elif scoping.events:
        acquired, notes = (
            Assessment.Acquired.NO,
            f"None of the {scoping.events} events in scope returned PHI fields.",
        )
    else:
        acquired, notes = Assessment.Acquired.UNKNOWN, ""
    return {"nature_extent": nature, "acquired": acquired, "acquired_notes": notes}


def assessment_start(*, actor: Membership, incident: Incident) -> Assessment:
    """The open (unsigned) version: the existing draft, a copy of the last signed version,
    or a first draft prefilled from the latest scoping."""
    manage_require(actor, incident)
    with transaction.atomic():
        Incident.objects.select_for_update().filter(pk=incident.pk).first()
        latest = incident.assessments.order_by("-version").first()
        if latest is not None and not latest.is_signed:
            return latest
        scoping = incident.scopings.order_by("-computed_at", "-pk").first()
        if latest is None:
            draft = Assessment(
                organization=incident.organization,
                incident=incident,
                version=1,
                scoping=scoping,
                created_by=actor.user,
                **_prefill(incident, scoping),
            )
        else:
            draft = Assessment(
                organization=incident.organization,
                incident=incident,
                version=latest.version + 1,
                scoping=scoping or latest.scoping,
                nature_extent=latest.nature_extent,
                recipient=latest.recipient,
                acquired=latest.acquired,
                acquired_notes=latest.acquired_notes,
                mitigation=latest.mitigation,
                phi_secured=latest.phi_secured,
                exception=latest.exception,
                decision="",
                reasons=latest.reasons,
                created_by=actor.user,
            )
        draft.save()
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_ASSESSMENT_SAVED,
            target=incident,
            data={"version": draft.version, "started": True},
        )
    return draft


def _validate(incident: Incident, data: AssessmentData) -> ScopingRun | None:
    errors: dict[str, str] = {}
    if data.acquired not in Assessment.Acquired.values:
        errors["acquired"] = "Unknown answer."
    if data.exception not in Assessment.Exception_.values:
        errors["exception"] = "Unknown exception."
    if data.decision not in D.values:
        errors["decision"] = "Unknown decision."
    scoping = None
    if data.scoping_id is not None:
        scoping = incident.scopings.filter(pk=data.scoping_id).first()
        if scoping is None:
            errors["scoping"] = "That scoping belongs to another incident."
    if errors:
        raise ValidationError(errors)
    return scoping


def assessment_save(
    *, actor: Membership, assessment: Assessment, data: AssessmentData
) -> Assessment:
    """Save the open version. A signed version is locked: start a new version instead."""
    manage_require(actor, assessment.incident)
    if assessment.is_signed:
        raise ValidationError("This version is signed and locked; start a new version.")
    scoping = _validate(assessment.incident, data)
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.is_signed:
            raise ValidationError("This version was signed meanwhile; start a new version.")
        for name in (
            "nature_extent", "recipient", "acquired", "acquired_notes", "mitigation",
            "phi_secured", "exception", "decision", "reasons",
        ):  # fmt: skip
            value = getattr(data, name)
            setattr(assessment, name, value.strip() if isinstance(value, str) else value)
        if scoping is not None:
            assessment.scoping = scoping
        assessment.save()
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_ASSESSMENT_SAVED,
            target=assessment.incident,
            data={"version": assessment.version},
        )
    return assessment


def _sign_errors(assessment: Assessment) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not assessment.decision:
        errors["decision"] = "Decide: breach, not a breach, or low probability of compromise."
    if not assessment.reasons.strip():
        errors["reasons"] = "Give the reasons for the decision."
    if assessment.decision == D.NOT_BREACH and not (assessment.exception or assessment.phi_secured):
        errors["exception"] = (
            "'Not a breach' needs an exception of 164.402(1) or PHI that was secured "
            "(encrypted or destroyed per HHS guidance)."
        )
    if assessment.decision == D.LOW_PROBABILITY:
        # The presumption stands unless all four factors are documented (164.402(2)).
        for name, label in (
            ("nature_extent", "the nature and extent of the PHI"),
            ("recipient", "who used or received it"),
            ("mitigation", "the mitigation"),
        ):
            if not getattr(assessment, name).strip():
                errors[name] = f"Low probability of compromise needs {label} documented."
        if assessment.acquired == Assessment.Acquired.UNKNOWN:
            errors["acquired"] = "Say whether the PHI was actually acquired or viewed."
    if assessment.decision == D.BREACH and assessment.scoping is None:
        errors["scoping"] = "Scope the breach first: notices need the affected individuals."
    return errors


def assessment_sign(*, actor: Membership, assessment: Assessment) -> Assessment:
    """Sign and lock the version; a breach decision plans the notices and their deadlines."""
    from phiwarden.incidents.services.notices import notices_plan

    manage_require(actor, assessment.incident)
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if assessment.is_signed:
            return assessment  # a double submit signs once
        errors = _sign_errors(assessment)
        if errors:
            raise ValidationError(errors)
        newest = assessment.incident.assessments.aggregate(Max("version"))["version__max"]
        if assessment.version != newest:
            raise ValidationError("A newer version exists; sign that one.")
        assessment.signed_at = timezone.now()
        assessment.signed_by = actor.user
        assessment.save(update_fields=["signed_at", "signed_by"])
        incident = assessment.incident
        if incident.status in (Incident.Status.REPORTED, Incident.Status.CONTAINED):
            incident.status = Incident.Status.ASSESSED
            incident.save(update_fields=["status", "updated_at"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_ASSESSMENT_SIGNED,
            target=incident,
            data={"version": assessment.version, "decision": assessment.decision},
        )
        if assessment.decision == D.BREACH:
            notices_plan(actor=actor, assessment=assessment)
    return assessment


def current_assessment(incident: Incident) -> Assessment | None:
    """The newest signed version: the decision in force."""
    return incident.assessments.filter(signed_at__isnull=False).order_by("-version").first()
