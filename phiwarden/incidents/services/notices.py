"""The notices a breach needs, each with its deadline from the one clock.

Ours: to each affected covered-entity client, within the shorter of its BAA window and 60
days of our discovery (45 CFR 164.410(b)). The client's own, which we track for it and
help with: individuals (164.404(b)), HHS (164.408(b)/(c)) and media per State with more
than 500 residents (164.406). The client's clock starts, at the latest, the day we notify
it, so recording our notice as sent moves its deadlines to the dates that day implies.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.core.clock import NoticeWindow
from phiwarden.incidents.deadlines import (
    Deadline,
    client_notice_deadline,
    covered_entity_deadlines,
)
from phiwarden.incidents.models import Assessment, Incident, Notice, ScopingRun
from phiwarden.incidents.services.containment import manage_require
from phiwarden.partners.checks import baa_check
from phiwarden.partners.models import Baa

R = Notice.Recipient


def client_baa_window(client: Client, on: dt.date) -> NoticeWindow | None:
    """The breach notice window of the client's BAA in force on `on` (the discovery date)."""
    baas = list(Baa.objects.filter(direction=Baa.Direction.CLIENT, client=client))
    baa = baa_check(baas, on).baa
    return baa.notice_window if baa is not None else None


def client_deadline(incident: Incident, client: Client) -> Deadline:
    return client_notice_deadline(
        incident.discovered_on,
        client_baa_window(client, incident.discovered_on),
        incident.law_enforcement_delay(),
    )


def _client_side(
    incident: Incident, scoping: ScopingRun, client_id: int, ce_discovered_on: dt.date
) -> list[Deadline]:
    individuals = int(scoping.by_client.get(str(client_id), 0))
    states = {
        state: int(n)
        for state, n in scoping.by_client_state.get(str(client_id), {}).items()
        if state != "unknown"
    }
    return covered_entity_deadlines(
        ce_discovered_on, individuals, states, incident.law_enforcement_delay()
    )


def _recipient_of(key: str) -> tuple[str, str]:
    if key.startswith("media:"):
        return R.MEDIA, key.split(":", 1)[1]
    return {"individuals": R.INDIVIDUALS, "hhs": R.HHS}[key], ""


def _upsert(
    incident: Incident,
    assessment: Assessment,
    scoping: ScopingRun,
    client: Client,
    deadline: Deadline,
    recipient: str,
    state: str = "",
) -> Notice:
    notice, created = Notice.objects.get_or_create(
        incident=incident,
        recipient=recipient,
        client=client,
        state=state,
        defaults={
            "organization": incident.organization,
            "assessment": assessment,
            "scoping": scoping,
            "individuals": int(scoping.by_client.get(str(client.pk), 0)),
            "due_on": deadline.due_on,
            "citation": deadline.citation,
        },
    )
    if not created and not notice.is_sent:
        notice.assessment, notice.scoping = assessment, scoping
        notice.individuals = int(scoping.by_client.get(str(client.pk), 0))
        notice.due_on, notice.citation = deadline.due_on, deadline.citation
        notice.save(update_fields=["assessment", "scoping", "individuals", "due_on", "citation"])
    return notice


def notices_plan(*, actor: Membership, assessment: Assessment) -> list[Notice]:
    """Create (or refresh, while unsent) every notice a signed breach decision needs."""
    incident = assessment.incident
    manage_require(actor, incident)
    if not assessment.is_breach or assessment.scoping is None:
        raise ValidationError("Notices follow a signed breach decision with a scope.")
    scoping = assessment.scoping
    clients = Client.objects.for_organization(incident.organization).filter(
        pk__in=scoping.client_ids()
    )
    planned: list[Notice] = []
    with transaction.atomic():
        for client in clients:
            ours = client_deadline(incident, client)
            notice = _upsert(incident, assessment, scoping, client, ours, R.CLIENT)
            planned.append(notice)
            # Until we notify the client, its discovery is at the latest our deadline.
            ce_discovered = notice.sent_at.date() if notice.sent_at else ours.due_on
            for deadline in _client_side(incident, scoping, client.pk, ce_discovered):
                recipient, state = _recipient_of(deadline.key)
                planned.append(
                    _upsert(incident, assessment, scoping, client, deadline, recipient, state)
                )
    return planned


def notice_mark_sent(
    *, actor: Membership, notice: Notice, method: str, sent_at: dt.datetime | None = None
) -> Notice:
    """Record a notice as sent (by us, or by the client for its own notices)."""
    manage_require(actor, notice.incident)
    method = method.strip()
    if not method:
        raise ValidationError({"method": "Say how it was sent (e-mail, letter, portal)."})
    sent_at = sent_at or timezone.now()
    if sent_at > timezone.now():
        raise ValidationError({"sent_at": "The sending time cannot be in the future."})
    if notice.recipient == R.CLIENT and notice.letter_id is None:
        raise ValidationError("Generate the notice letter first, so the file shows what was sent.")
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if notice.is_sent:
            return notice
        notice.sent_at, notice.sent_by, notice.sent_method = sent_at, actor.user, method[:100]
        notice.save(update_fields=["sent_at", "sent_by", "sent_method"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_NOTICE_SENT,
            target=notice.incident,
            data={
                "notice": notice.pk,
                "recipient": notice.recipient,
                "client": notice.client_id,
                "on_time": bool(notice.sent_on_time()),
            },
        )
        if notice.recipient == R.CLIENT:
            _client_clock_started(notice)
    return notice


def _client_clock_started(notice: Notice) -> None:
    """The client's discovery is at the latest our notice: its deadlines follow from it."""
    assert notice.sent_at is not None  # noqa: S101
    deadlines = _client_side(
        notice.incident, notice.scoping, notice.client_id, notice.sent_at.date()
    )
    for deadline in deadlines:
        recipient, state = _recipient_of(deadline.key)
        Notice.objects.filter(
            incident=notice.incident,
            recipient=recipient,
            client=notice.client,
            state=state,
            sent_at__isnull=True,
        ).update(due_on=deadline.due_on, citation=deadline.citation)


def notice_acknowledge(*, actor: Membership, notice: Notice, note: str = "") -> Notice:
    """Record the client's acknowledgement of our notice."""
    manage_require(actor, notice.incident)
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if not notice.is_sent:
            raise ValidationError("Record the notice as sent before its acknowledgement.")
        if notice.acknowledged_at is not None:
            return notice
        notice.acknowledged_at = timezone.now()
        notice.acknowledged_note = note.strip()[:300]
        notice.save(update_fields=["acknowledged_at", "acknowledged_note"])
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_NOTICE_ACKNOWLEDGED,
            target=notice.incident,
            data={"notice": notice.pk, "client": notice.client_id},
        )
    return notice
