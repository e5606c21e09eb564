"""Close-out: root cause, corrective actions with owners and due dates, verification of
each, then closing the incident (checklist B5; 45 CFR 164.308(a)(1)(ii)(B) risk
management, 164.308(a)(6)(ii) document incidents and their outcomes, 164.530(j) and
164.316(b)(2)(i) keep the documentation six years)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from phiwarden.accounts.models import Membership
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.incidents.models import CorrectiveAction, Incident, Notice
from phiwarden.incidents.services.assessment import current_assessment
from phiwarden.incidents.services.containment import manage_require


@dataclass(frozen=True)
class ActionData:
    description: str
    owner_id: int
    due_on: dt.date
    risk_reference: str = ""


def _record(actor: Membership, incident: Incident, action: CorrectiveAction, what: str) -> None:
    audit_event_record(
        actor=actor.user,
        organization=actor.organization,
        event_code=EventCode.INCIDENT_ACTION_CHANGED,
        target=incident,
        data={"action": action.pk, "change": what},
    )


def corrective_action_add(
    *, actor: Membership, incident: Incident, data: ActionData
) -> CorrectiveAction:
    manage_require(actor, incident)
    errors: dict[str, str] = {}
    if not data.description.strip():
        errors["description"] = "Say what will be done."
    owner = (
        Membership.objects.filter(organization=actor.organization, user_id=data.owner_id)
        .active()
        .first()
    )
    if owner is None:
        errors["owner"] = "The owner must be an active member of this organization."
    if data.due_on < incident.discovered_on:
        errors["due_on"] = "The due date cannot be before the incident was discovered."
    if errors:
        raise ValidationError(errors)
    assert owner is not None  # noqa: S101
    with transaction.atomic():
        action = CorrectiveAction.objects.create(
            organization=actor.organization,
            incident=incident,
            description=data.description.strip()[:500],
            owner=owner.user,
            due_on=data.due_on,
            risk_reference=data.risk_reference.strip()[:100],
        )
        _record(actor, incident, action, "added")
    return action


def corrective_action_done(*, actor: Membership, action: CorrectiveAction) -> CorrectiveAction:
    """The owner (or an officer) marks the action done; an officer then verifies it."""
    if action.owner_id != actor.user_id:
        manage_require(actor, action.incident)
    elif action.organization_id != actor.organization_id or action.incident.is_closed:
        raise ValidationError("This action can no longer change.")
    if action.done_at is not None:
        return action
    with transaction.atomic():
        action.done_at = timezone.now()
        action.save(update_fields=["done_at", "updated_at"])
        _record(actor, action.incident, action, "done")
    return action


def corrective_action_verify(
    *, actor: Membership, action: CorrectiveAction, verification: str
) -> CorrectiveAction:
    """An officer checks the action worked and says how."""
    manage_require(actor, action.incident)
    if action.done_at is None:
        raise ValidationError("Mark the action done before verifying it.")
    if not verification.strip():
        raise ValidationError({"verification": "Say how you verified it."})
    if action.is_verified:
        return action
    with transaction.atomic():
        action.verified_at = timezone.now()
        action.verified_by = actor.user
        action.verification = verification.strip()[:500]
        action.save(update_fields=["verified_at", "verified_by", "verification", "updated_at"])
        _record(actor, action.incident, action, "verified")
    return action


def close_blockers(incident: Incident) -> list[str]:
    """What still stands between the incident and its closing, in words."""
    blockers: list[str] = []
    if incident.steps.filter(done_at__isnull=True).exists():
        blockers.append("Containment steps are still open.")
    assessment = current_assessment(incident)
    if assessment is None:
        blockers.append("The risk assessment is not signed.")
    elif assessment.is_breach:
        unsent = Notice.objects.filter(
            incident=incident, recipient=Notice.Recipient.CLIENT, sent_at__isnull=True
        )
        if unsent.exists():
            blockers.append("Notices to clients are not all sent.")
    if incident.assessments.filter(signed_at__isnull=True).exists():
        blockers.append("A newer assessment version is unsigned.")
    if not incident.actions.exists():
        blockers.append("Record at least one corrective action (or why none is needed).")
    if incident.actions.filter(verified_at__isnull=True).exists():
        blockers.append("Corrective actions are not all verified.")
    return blockers


def incident_close(*, actor: Membership, incident: Incident, root_cause: str) -> Incident:
    manage_require(actor, incident)
    errors: dict[str, str] = {}
    if not root_cause.strip():
        errors["root_cause"] = "Record the root cause."
    blockers = close_blockers(incident)
    if blockers:
        errors["__all__"] = " ".join(blockers)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.is_closed:
            return incident
        incident.root_cause = root_cause.strip()
        incident.status = Incident.Status.CLOSED
        incident.closed_at = timezone.now()
        incident.closed_by = actor.user
        incident.save(
            update_fields=["root_cause", "status", "closed_at", "closed_by", "updated_at"]
        )
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_CLOSED,
            target=incident,
        )
    return incident
