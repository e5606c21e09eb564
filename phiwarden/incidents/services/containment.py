"""Containment and evidence (checklist B1; 45 CFR 164.308(a)(6)(ii): identify and respond
to suspected or known security incidents, mitigate harmful effects, document them).

Each kind of incident gets a checklist. Steps the system can take itself are one click:
deactivate a member, end their sessions, revoke their API tokens, suspend a vendor. Each
click goes through the same account and partner services an officer would use elsewhere,
so it is audited there too, and the step records when it was done and by whom.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from phiwarden.accounts.models import ApiToken, Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.accounts.services import (
    api_token_revoke,
    membership_deactivate,
    user_sessions_end,
)
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import PendingSeal
from phiwarden.audit.sealing import latest_tree_head, seal_log
from phiwarden.audit.services import audit_event_record
from phiwarden.incidents.models import ContainmentStep, EvidenceSnapshot, Incident
from phiwarden.incidents.scoping import ScopeQuery, scope_events
from phiwarden.partners.models import Vendor
from phiwarden.partners.services import vendor_set_status

A = ContainmentStep.Action


@dataclass(frozen=True)
class StepTemplate:
    key: str
    title: str
    action: str = A.NONE


_FIRST = (StepTemplate("officer-informed", "Privacy and security officers informed"),)
_EVIDENCE = StepTemplate("evidence-sealed", "Evidence snapshot of the audit trail sealed")
_ACCOUNT = (
    StepTemplate("end-sessions", "End the member's sessions", A.END_SESSIONS),
    StepTemplate("revoke-tokens", "Revoke the member's API tokens", A.REVOKE_TOKENS),
    StepTemplate("deactivate-member", "Deactivate the member", A.DEACTIVATE_MEMBER),
)

CHECKLISTS: dict[str, tuple[StepTemplate, ...]] = {
    Incident.Kind.MISDIRECTED: (
        *_FIRST,
        StepTemplate("recipient-contacted", "Recipient contacted and asked to return or destroy"),
        StepTemplate("attestation", "Recipient's written attestation of destruction obtained"),
        StepTemplate("address-corrected", "Address, fax number or mailing list corrected"),
        _EVIDENCE,
    ),
    Incident.Kind.LOST_DEVICE: (
        *_FIRST,
        StepTemplate("encryption-checked", "Device encryption status confirmed (secured PHI?)"),
        StepTemplate("remote-wipe", "Remote lock or wipe sent"),
        *_ACCOUNT[:2],
        StepTemplate("police-report", "Theft reported to the police (if stolen)"),
        _EVIDENCE,
    ),
    Incident.Kind.UNAUTHORIZED_ACCESS: (
        *_FIRST,
        *_ACCOUNT,
        StepTemplate("access-reviewed", "The member's client assignments and role reviewed"),
        _EVIDENCE,
    ),
    Incident.Kind.COMPROMISED_ACCOUNT: (
        *_FIRST,
        *_ACCOUNT[:2],
        StepTemplate("password-reset", "Password reset and second factor re-enrolled"),
        StepTemplate("mailbox-rules", "Mail forwarding rules and connected apps checked"),
        _EVIDENCE,
    ),
    Incident.Kind.PHISHING: (
        *_FIRST,
        StepTemplate("message-purged", "Message removed from every mailbox; sender blocked"),
        *_ACCOUNT[:2],
        StepTemplate("credentials-reset", "Credentials of anyone who answered reset"),
        _EVIDENCE,
    ),
    Incident.Kind.VENDOR: (
        *_FIRST,
        StepTemplate("suspend-vendor", "Suspend the vendor's PHI flows", A.SUSPEND_VENDOR),
        StepTemplate("vendor-report", "Vendor's incident report requested under its BAA"),
        _EVIDENCE,
    ),
    Incident.Kind.RANSOMWARE: (
        *_FIRST,
        StepTemplate("isolated", "Affected systems isolated from the network"),
        StepTemplate("backups-checked", "Backups checked intact and offline"),
        StepTemplate("law-enforcement", "FBI or CISA contacted"),
        StepTemplate("restored", "Systems restored from a known-good backup"),
        _EVIDENCE,
    ),
    Incident.Kind.IMPROPER_DISPOSAL: (
        *_FIRST,
        StepTemplate("material-recovered", "Material recovered or its destruction confirmed"),
        StepTemplate("disposal-vendor", "Disposal vendor or procedure corrected"),
        _EVIDENCE,
    ),
    Incident.Kind.OTHER: (*_FIRST, StepTemplate("stopped", "Exposure stopped"), _EVIDENCE),
}


def checklist_for(kind: str) -> tuple[StepTemplate, ...]:
    return CHECKLISTS[Incident.Kind(kind)]


def manage_require(actor: Membership, incident: Incident) -> None:
    capability_require(actor, Capability.INCIDENTS_MANAGE)
    if incident.organization_id != actor.organization_id:
        raise PermissionDenied
    # Read the status afresh: a related manager may hand us a stale copy of the incident.
    if Incident.objects.filter(pk=incident.pk, status=Incident.Status.CLOSED).exists():
        raise ValidationError("This incident is closed; its record no longer changes.")


def _step_record(actor: Membership, step: ContainmentStep, note: str) -> None:
    step.done_at = timezone.now()
    step.done_by = actor.user
    step.note = note.strip()[:500]
    step.save(update_fields=["done_at", "done_by", "note", "target_membership", "target_vendor"])
    audit_event_record(
        actor=actor.user,
        organization=actor.organization,
        event_code=EventCode.INCIDENT_STEP_DONE,
        target=step.incident,
        data={"step": step.key, "action": step.action or "manual"},
    )
    _mark_contained(step.incident)


def _mark_contained(incident: Incident) -> None:
    if incident.status != Incident.Status.REPORTED:
        return
    if not incident.steps.filter(done_at__isnull=True).exists():
        incident.status = Incident.Status.CONTAINED
        incident.save(update_fields=["status", "updated_at"])


def containment_step_done(
    *, actor: Membership, step: ContainmentStep, note: str = ""
) -> ContainmentStep:
    """Record a step done by hand (a call made, a device wiped), with the time."""
    manage_require(actor, step.incident)
    if step.action:
        raise ValidationError("This step is done by its button, which takes the action.")
    if step.done_at is not None:
        return step  # a double submit records nothing twice
    with transaction.atomic():
        _step_record(actor, step, note)
    return step


def containment_action_run(
    *,
    actor: Membership,
    step: ContainmentStep,
    membership: Membership | None = None,
    vendor: Vendor | None = None,
    note: str = "",
) -> ContainmentStep:
    """Take a one-click step on a member or a vendor of this organization."""
    manage_require(actor, step.incident)
    if not step.action:
        raise ValidationError("This step has no action to take; record it as done.")
    organization = actor.organization
    with transaction.atomic():
        if step.action == A.SUSPEND_VENDOR:
            if vendor is None or vendor.organization_id != organization.pk:
                raise ValidationError({"vendor": "Choose the vendor to suspend."})
            vendor_set_status(actor=actor, vendor=vendor, status=Vendor.Status.SUSPENDED)
            step.target_vendor = vendor
        else:
            if membership is None or membership.organization_id != organization.pk:
                raise ValidationError({"membership": "Choose the member."})
            if membership.pk == actor.pk:
                raise ValidationError({"membership": "You cannot take this step on yourself."})
            _member_action(actor, step.action, membership)
            step.target_membership = membership
        _step_record(actor, step, note)
    return step


def _member_action(actor: Membership, action: str, membership: Membership) -> None:
    if action == A.DEACTIVATE_MEMBER:
        membership_deactivate(actor=actor, membership=membership)
    elif action == A.END_SESSIONS:
        capability_require(actor, Capability.MEMBERS_MANAGE)
        user_sessions_end(actor=actor.user, user=membership.user, organization=actor.organization)
    elif action == A.REVOKE_TOKENS:
        capability_require(actor, Capability.MEMBERS_MANAGE)
        for token in ApiToken.objects.filter(membership=membership).usable():
            api_token_revoke(actor=actor, token=token)
    else:  # pragma: no cover - the choices are closed
        raise ValidationError("Unknown action.")


# --- Evidence ---------------------------------------------------------------------------


def _runs(ids: Iterable[int]) -> Iterator[list[int]]:
    """Sorted ids as [first, last] runs of consecutive values."""
    first = last = None
    for value in ids:
        if first is None:
            first = last = value
        elif value == last + 1:  # type: ignore[operator]
            last = value
        else:
            yield [first, last]  # type: ignore[list-item]
            first = last = value
    if first is not None:
        yield [first, last]  # type: ignore[list-item]


def _seal_pending(log_id: int) -> None:
    """Seal what is pending now, so the tree head covers the events up to this moment."""
    while seal_log(log_id).sealed:
        pass


def evidence_snapshot_take(
    *, actor: Membership, incident: Incident, query: ScopeQuery
) -> EvidenceSnapshot:
    """Seal the audit log, then record the signed tree head and the ids of the events in
    scope with a digest over them: later review can prove what the log held at this time."""
    manage_require(actor, incident)
    if not (query.actor_ids or query.token_prefixes):
        raise ValidationError("Name the members or API tokens whose activity to preserve.")
    if not (query.since and query.until) or query.until <= query.since:
        raise ValidationError("Give the time window to preserve.")
    organization = actor.organization
    _seal_pending(organization.pk)
    with transaction.atomic():
        head = latest_tree_head(organization.pk)
        events = scope_events(organization, query).order_by("pk")
        digest = hashlib.sha256()
        ids: list[int] = []
        for event_id in events.values_list("pk", flat=True).iterator(chunk_size=10_000):
            ids.append(event_id)
            digest.update(f"{event_id}\n".encode())
        unsealed = PendingSeal.objects.filter(event_id__in=ids).count() if ids else 0
        snapshot = EvidenceSnapshot.objects.create(
            organization=organization,
            incident=incident,
            taken_by=actor.user,
            query=query.as_json(),
            tree_head=head,
            tree_size=head.tree_size if head else 0,
            root_hash_hex=bytes(head.root_hash).hex() if head else "",
            event_count=len(ids),
            event_id_ranges=list(_runs(ids)),
            events_digest=digest.hexdigest(),
            events_unsealed=unsealed,
        )
        audit_event_record(
            actor=actor.user,
            organization=organization,
            event_code=EventCode.INCIDENT_EVIDENCE_SEALED,
            target=incident,
            data={"snapshot": snapshot.pk, "events": len(ids), "tree_size": snapshot.tree_size},
        )
        step = incident.steps.filter(key=_EVIDENCE.key, done_at__isnull=True).first()
        if step is not None:
            _step_record(actor, step, f"Snapshot {snapshot.pk}: {len(ids)} events")
    return snapshot


def evidence_event_ids(snapshot: EvidenceSnapshot) -> Iterator[int]:
    for first, last in snapshot.event_id_ranges:
        yield from range(first, last + 1)
