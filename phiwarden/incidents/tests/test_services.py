"""The incident services end to end on real rows: report, officers told, containment with
one-click actions, evidence sealed, scope stored, assessment locked and versioned, notices
planned with their deadlines, close-out."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404

from phiwarden.accounts.models import ApiToken, Membership, User
from phiwarden.accounts.roles import Role
from phiwarden.accounts.services import api_token_create
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.core.clock import DayKind, add_days
from phiwarden.incidents import services
from phiwarden.incidents.models import Assessment, ContainmentStep, Incident, Notice
from phiwarden.incidents.scoping import ScopeQuery
from phiwarden.incidents.selectors import (
    breach_log,
    client_deadlines,
    incident_get,
    timeline,
)
from phiwarden.incidents.services.closeout import close_blockers
from phiwarden.incidents.services.containment import evidence_event_ids
from phiwarden.incidents.tests.factories import window
from phiwarden.partners.models import Vendor
from phiwarden.partners.tests.factories import approved_vendor, sign_baa
from phiwarden.vault.blobs import blob_store
from phiwarden.vault.models import EncryptedBlob

pytestmark = pytest.mark.django_db

DISCOVERED = dt.date(2026, 10, 20)
SECRET_WORDS = "Synthetic narrative naming Pat Example"


def _report(actor: Membership, **overrides: object) -> Incident:
    data = {
        "kind": Incident.Kind.UNAUTHORIZED_ACCESS,
        "title": "Snooping by an A/R specialist",
        "description": SECRET_WORDS,
        "discovered_on": DISCOVERED,
        "systems": "PHI Warden billing",
        **overrides,
    }
    return services.incident_report(actor=actor, data=services.ReportData(**data))  # type: ignore[arg-type]


def _breach(actor: Membership, incident: Incident, snoop: Membership) -> Assessment:
    since, until = window()
    services.scoping_run(
        actor=actor, incident=incident, query=ScopeQuery([snoop.user_id], (), since, until)
    )
    draft = services.assessment_start(actor=actor, incident=incident)
    services.assessment_save(
        actor=actor,
        assessment=draft,
        data=services.AssessmentData(
            nature_extent=draft.nature_extent,
            recipient="A workforce member without a payment purpose",
            acquired=draft.acquired,
            acquired_notes=draft.acquired_notes,
            mitigation="Access removed the same day",
            phi_secured=False,
            exception="",
            decision=Assessment.Decision.BREACH,
            reasons="Records were viewed without a job reason.",
        ),
    )
    return services.assessment_sign(actor=actor, assessment=draft)


def test_a_report_numbers_the_incident_lays_out_its_checklist_and_tells_the_officers(
    workforce_member, privacy_officer, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        incident = _report(workforce_member)

    assert incident.reference == "INC-2026-0001"
    keys = list(incident.steps.values_list("key", flat=True))
    assert keys[:4] == ["officer-informed", "end-sessions", "revoke-tokens", "deactivate-member"]
    assert keys[-1] == "evidence-sealed"
    assert [m.to for m in mail.outbox] == [[privacy_officer.user.email]]
    assert "INC-2026-0001" in mail.outbox[0].subject
    assert SECRET_WORDS not in mail.outbox[0].body
    incident.refresh_from_db()
    assert incident.officers_notified_at is not None
    codes = set(AuditEvent.objects.values_list("event_code", flat=True))
    assert {EventCode.INCIDENT_REPORTED, EventCode.INCIDENT_OFFICERS_NOTIFIED} <= codes
    assert _report(workforce_member).number == 2


def test_the_narrative_is_encrypted_and_read_only_by_the_reporter_and_officers(
    workforce_member, privacy_officer, make_member
):
    incident = _report(workforce_member)
    with connection.cursor() as cursor:
        cursor.execute("SELECT description_ct FROM incidents_incident WHERE id = %s", [incident.pk])
        stored = bytes(cursor.fetchone()[0])
    assert b"Pat Example" not in stored

    assert services.incident_description(actor=workforce_member, incident=incident) == SECRET_WORDS
    assert services.incident_description(actor=privacy_officer, incident=incident) == SECRET_WORDS
    coder = make_member(Role.CODER, email="coder@example.test")
    with pytest.raises(PermissionDenied):
        services.incident_description(actor=coder, incident=incident)
    viewed = AuditEvent.objects.filter(event_code=EventCode.INCIDENT_VIEWED)
    assert viewed.count() == 2


def test_reporting_validates_dates_and_vendor_incidents_name_the_vendor_and_its_baa(
    workforce_member, owner
):
    with pytest.raises(ValidationError) as error:
        _report(workforce_member, discovered_on=dt.date(2099, 1, 1))
    assert "discovered_on" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        _report(workforce_member, occurred_on=DISCOVERED + dt.timedelta(days=1))
    assert "occurred_on" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        _report(workforce_member, kind=Incident.Kind.VENDOR)
    assert "vendor" in error.value.message_dict
    assert not Incident.objects.exists()

    vendor = approved_vendor(owner, reviewed_on=dt.date(2026, 10, 1))
    baa = sign_baa(owner, vendor=vendor, signed_on=dt.date(2026, 1, 1), expires_on=None)
    incident = _report(workforce_member, kind=Incident.Kind.VENDOR, vendor_id=vendor.pk)
    assert (incident.vendor, incident.vendor_baa) == (vendor, baa)
    assert incident.steps.filter(action=ContainmentStep.Action.SUSPEND_VENDOR).exists()


def test_one_click_containment_takes_the_action_and_records_the_time(
    workforce_member, privacy_officer, make_member
):
    snoop = make_member(Role.AR_SPECIALIST, email="snoop@example.test")
    api_token_create(actor=snoop, name="t", scopes=["billing.view_phi"], days=5)
    generation = snoop.user.session_generation
    incident = _report(workforce_member)
    steps = {s.key: s for s in incident.steps.all()}

    services.containment_action_run(
        actor=privacy_officer, step=steps["end-sessions"], membership=snoop
    )
    services.containment_action_run(
        actor=privacy_officer, step=steps["revoke-tokens"], membership=snoop
    )
    services.containment_action_run(
        actor=privacy_officer, step=steps["deactivate-member"], membership=snoop
    )

    snoop.refresh_from_db()
    assert not snoop.is_active
    assert User.objects.get(pk=snoop.user_id).session_generation > generation
    assert not ApiToken.objects.filter(membership=snoop).usable().exists()
    done = ContainmentStep.objects.filter(incident=incident, done_at__isnull=False)
    assert set(done.values_list("key", flat=True)) == {
        "end-sessions", "revoke-tokens", "deactivate-member",
    }  # fmt: skip
    assert done.filter(target_membership=snoop).count() == 3
    with pytest.raises(ValidationError, match="button"):
        services.containment_step_done(actor=privacy_officer, step=steps["end-sessions"])
    with pytest.raises(ValidationError):
        services.containment_action_run(
            actor=privacy_officer, step=steps["officer-informed"], membership=snoop
        )


def test_suspending_a_vendor_and_refusals_change_nothing(workforce_member, privacy_officer, owner):
    vendor = approved_vendor(owner, reviewed_on=dt.date(2026, 10, 1))
    incident = _report(workforce_member, kind=Incident.Kind.VENDOR, vendor_id=vendor.pk)
    step = incident.steps.get(key="suspend-vendor")

    with pytest.raises(PermissionDenied):
        services.containment_action_run(actor=workforce_member, step=step, vendor=vendor)
    vendor.refresh_from_db()
    assert vendor.status == Vendor.Status.APPROVED
    services.containment_action_run(actor=privacy_officer, step=step, vendor=vendor)
    vendor.refresh_from_db()
    assert vendor.status == Vendor.Status.SUSPENDED


def test_the_incident_is_contained_when_every_step_is_done(workforce_member, privacy_officer):
    incident = _report(workforce_member, kind=Incident.Kind.OTHER)
    for step in incident.steps.exclude(key="evidence-sealed"):
        services.containment_step_done(actor=privacy_officer, step=step, note="done")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.REPORTED
    once = incident.steps.get(key="stopped")
    again = services.containment_step_done(actor=privacy_officer, step=once, note="twice")
    assert again.note == "done"  # a double submit records nothing twice

    since, until = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    services.evidence_snapshot_take(
        actor=privacy_officer,
        incident=incident,
        query=ScopeQuery([workforce_member.user_id], (), since, until),
    )
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CONTAINED


def test_an_evidence_snapshot_seals_the_log_and_names_the_events_in_scope(
    world, workforce_member, privacy_officer
):
    incident = _report(workforce_member)
    since, until = window()
    snoop = world["snoop"]

    snapshot = services.evidence_snapshot_take(
        actor=privacy_officer,
        incident=incident,
        query=ScopeQuery([snoop.user_id], (), since, until),
    )

    expected = sorted(
        AuditEvent.objects.filter(
            actor=snoop.user, occurred_at__gte=since, occurred_at__lt=until
        ).values_list("pk", flat=True)
    )
    assert snapshot.event_count == len(expected) == 3
    assert list(evidence_event_ids(snapshot)) == expected
    digest = hashlib.sha256("".join(f"{pk}\n" for pk in expected).encode()).hexdigest()
    assert snapshot.events_digest == digest
    head = snapshot.tree_head
    assert head is not None
    assert snapshot.tree_size == head.tree_size >= max(expected) - min(expected)
    assert snapshot.events_unsealed == 0
    assert incident.steps.get(key="evidence-sealed").done_at is not None


def test_scoping_is_stored_with_its_query_and_adds_the_clients(
    world, workforce_member, privacy_officer, clients
):
    incident = _report(workforce_member)
    since, until = window()

    run = services.scoping_run(
        actor=privacy_officer,
        incident=incident,
        query=ScopeQuery([world["snoop"].user_id], (), since, until),
    )

    assert run.individuals == 5
    assert run.by_client == {str(clients[0].pk): 3, str(clients[1].pk): 2}
    assert sum(sum(s.values()) for s in run.by_client_state.values()) == 5
    assert run.query["actor_ids"] == [world["snoop"].user_id]
    assert run.viewed_events == 3
    assert set(incident.clients.all()) == set(clients)


def test_the_assessment_is_prefilled_locked_when_signed_and_revised_as_a_new_version(
    world, workforce_member, privacy_officer
):
    incident = _report(workforce_member)
    signed = _breach(privacy_officer, incident, world["snoop"])

    assert signed.is_breach
    assert signed.version == 1
    assert "5 individuals" in signed.nature_extent
    assert signed.acquired == Assessment.Acquired.YES
    data = services.AssessmentData(
        nature_extent="x", recipient="y", acquired="no", acquired_notes="", mitigation="z",
        phi_secured=False, exception="", decision="low_probability", reasons="r",
    )  # fmt: skip
    with pytest.raises(ValidationError, match="locked"):
        services.assessment_save(actor=privacy_officer, assessment=signed, data=data)
    signed.refresh_from_db()
    assert signed.decision == Assessment.Decision.BREACH

    second = services.assessment_start(actor=privacy_officer, incident=incident)
    assert (second.version, second.decision, second.reasons) == (2, "", signed.reasons)
    assert services.assessment_start(actor=privacy_officer, incident=incident) == second


def test_signing_checks_the_decision_has_what_the_rule_needs(workforce_member, privacy_officer):
    incident = _report(workforce_member)
    draft = services.assessment_start(actor=privacy_officer, incident=incident)

    def attempt(**fields: object) -> dict[str, list[str]]:
        values = {
            "nature_extent": "", "recipient": "", "acquired": "unknown", "acquired_notes": "",
            "mitigation": "", "phi_secured": False, "exception": "", "decision": "",
            "reasons": "", **fields,
        }  # fmt: skip
        services.assessment_save(
            actor=privacy_officer,
            assessment=draft,
            data=services.AssessmentData(**values),  # type: ignore[arg-type]
        )
        with pytest.raises(ValidationError) as error:
            services.assessment_sign(actor=privacy_officer, assessment=draft)
        return error.value.message_dict

    assert {"decision", "reasons"} <= set(attempt())
    assert "exception" in attempt(decision="not_breach", reasons="r")
    errors = attempt(decision="low_probability", reasons="r")
    assert {"nature_extent", "recipient", "mitigation", "acquired"} <= set(errors)
    assert "scoping" in attempt(decision="breach", reasons="r")
    draft.refresh_from_db()
    assert not draft.is_signed


def test_a_breach_plans_every_notice_with_deadlines_from_the_baa_and_the_rule(
    world, workforce_member, privacy_officer, owner, clients
):
    # Client 0's BAA: notice within 10 business days; client 1 has none (60 calendar days).
    sign_baa(
        owner, client=clients[0], signed_on=dt.date(2026, 1, 1), expires_on=None,
        notice_window_days=10, notice_window_kind=DayKind.BUSINESS,
    )  # fmt: skip
    incident = _report(workforce_member)
    _breach(privacy_officer, incident, world["snoop"])

    ours = {
        n.client_id: n
        for n in Notice.objects.filter(incident=incident, recipient=Notice.Recipient.CLIENT)
    }
    assert ours[clients[0].pk].due_on == add_days(DISCOVERED, 10, DayKind.BUSINESS)
    assert ours[clients[1].pk].due_on == DISCOVERED + dt.timedelta(days=60)
    assert ours[clients[0].pk].individuals == 3
    theirs = Notice.objects.filter(incident=incident, client=clients[0]).exclude(
        recipient=Notice.Recipient.CLIENT
    )
    by_recipient = {n.recipient: n for n in theirs}
    assert set(by_recipient) == {Notice.Recipient.INDIVIDUALS, Notice.Recipient.HHS}
    first_due = ours[clients[0].pk].due_on
    assert by_recipient["individuals"].due_on == first_due + dt.timedelta(days=60)
    assert by_recipient["hhs"].due_on == dt.date(2027, 3, 1)  # < 500: 60 days after year end
    rows = {row.client.pk: row for row in client_deadlines(incident)}
    assert rows[clients[0].pk].deadline.due_on == first_due

    # Sending our notice early starts the client's clock that day.
    notice = ours[clients[0].pk]
    with pytest.raises(ValidationError, match="letter"):
        services.notice_mark_sent(actor=privacy_officer, notice=notice, method="e-mail")
    notice.letter = _blob(privacy_officer)
    notice.save(update_fields=["letter"])
    sent_at = dt.datetime(2026, 10, 22, 15, tzinfo=dt.UTC)
    services.notice_mark_sent(
        actor=privacy_officer, notice=notice, method="e-mail", sent_at=sent_at
    )
    by_recipient["individuals"].refresh_from_db()
    assert by_recipient["individuals"].due_on == dt.date(2026, 12, 21)
    services.notice_acknowledge(actor=privacy_officer, notice=notice, note="Received")
    notice.refresh_from_db()
    assert notice.sent_on_time()
    assert notice.acknowledged_at is not None


def _blob(actor: Membership) -> EncryptedBlob:

    return blob_store(
        organization=actor.organization,
        stream=io.BytesIO(b"%PDF-1.4 synthetic"),
        filename="notice.pdf",
        content_type="application/pdf",
        purpose="incidents.notice",
        actor=actor.user,
    )


def test_a_law_enforcement_delay_moves_the_deadlines(world, workforce_member, privacy_officer):
    incident = _report(workforce_member)
    facts = services.IncidentFacts(
        kind=incident.kind,
        title=incident.title,
        discovered_on=DISCOVERED,
        discovery_basis=incident.discovery_basis,
        delay_kind="written",
        delay_stated_on=DISCOVERED + dt.timedelta(days=5),
        delay_until=dt.date(2027, 2, 1),
        delay_agency="Synthetic FBI field office",
    )
    services.incident_update(actor=privacy_officer, incident=incident, facts=facts)
    _breach(privacy_officer, incident, world["snoop"])

    ours = Notice.objects.filter(incident=incident, recipient=Notice.Recipient.CLIENT)
    assert {n.due_on for n in ours} == {dt.date(2027, 2, 1)}
    assert all("164.412" in n.citation for n in ours)
    event = AuditEvent.objects.get(event_code=EventCode.INCIDENT_UPDATED)
    assert "delay_kind" in event.data["fields"]


def test_close_out_needs_every_step_verified_and_leaves_a_timeline(
    world, workforce_member, privacy_officer, clients
):
    incident = _report(workforce_member)
    with pytest.raises(ValidationError) as error:
        services.incident_close(actor=privacy_officer, incident=incident, root_cause="")
    assert "root_cause" in error.value.message_dict
    assert len(close_blockers(incident)) >= 3

    for step in incident.steps.exclude(action=""):
        services.containment_action_run(actor=privacy_officer, step=step, membership=world["snoop"])
    for step in incident.steps.filter(action="", done_at__isnull=True):
        services.containment_step_done(actor=privacy_officer, step=step)
    _breach(privacy_officer, incident, world["snoop"])
    for notice in incident.notices.filter(recipient=Notice.Recipient.CLIENT):
        notice.letter = _blob(privacy_officer)
        notice.save(update_fields=["letter"])
        services.notice_mark_sent(actor=privacy_officer, notice=notice, method="letter")
    action = services.corrective_action_add(
        actor=privacy_officer,
        incident=incident,
        data=services.ActionData(
            "Quarterly access review of A/R", privacy_officer.user_id, DISCOVERED
        ),
    )
    assert close_blockers(incident) == ["Corrective actions are not all verified."]
    with pytest.raises(ValidationError, match="done"):
        services.corrective_action_verify(actor=privacy_officer, action=action, verification="x")
    services.corrective_action_done(actor=privacy_officer, action=action)
    services.corrective_action_verify(
        actor=privacy_officer, action=action, verification="Review held 2026-11-01"
    )

    closed = services.incident_close(
        actor=privacy_officer, incident=incident, root_cause="No quarterly access review"
    )

    assert closed.is_closed
    whats = [entry.what for entry in timeline(closed)]
    assert whats[0] == "Began" or whats[0] == "Discovered"
    assert whats[-1] == "Closed"
    assert any(w.startswith("Assessment v1 signed") for w in whats)
    with pytest.raises(ValidationError, match="closed"):
        services.containment_step_done(actor=privacy_officer, step=incident.steps.all()[0])
    rows = breach_log(privacy_officer, 2026)
    assert {(r.client.pk, r.individuals) for r in rows} == {(clients[0].pk, 3), (clients[1].pk, 2)}
    assert rows[0].breach_type == "Unauthorized Access/Disclosure"


def test_members_see_only_their_own_reports_and_strangers_nothing(
    workforce_member, privacy_officer, make_member, outsider
):
    mine = _report(workforce_member)
    colleague = make_member(Role.CODER, email="colleague@example.test")
    theirs = _report(colleague)

    assert incident_get(workforce_member, mine.pk) == mine
    with pytest.raises(Http404):
        incident_get(workforce_member, theirs.pk)
    assert incident_get(privacy_officer, theirs.pk) == theirs
    with pytest.raises(Http404):
        incident_get(outsider, mine.pk)
    with pytest.raises(PermissionDenied):
        services.incident_update(
            actor=workforce_member,
            incident=mine,
            facts=services.IncidentFacts(
                kind=mine.kind, title="changed", discovered_on=DISCOVERED, discovery_basis="known"
            ),
        )
    mine.refresh_from_db()
    assert mine.title == "Snooping by an A/R specialist"
