"""The incident pages: reporting, containment clicks, scoping, the assessment's lock,
deadlines, notices and close-out, each through the real forms and services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import ApiToken, Membership, User
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.services import api_token_create
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.conftest import PASSWORD
from phiwarden.incidents import selectors, services
from phiwarden.incidents.models import Assessment, CorrectiveAction, Incident, Notice, ScopingRun
from phiwarden.incidents.scoping import ScopeQuery
from phiwarden.incidents.tests.factories import window
from phiwarden.partners.models import Vendor
from phiwarden.partners.tests.factories import make_vendor

pytestmark = pytest.mark.django_db


def url(membership, name, **kwargs):
    return reverse(f"incidents:{name}", kwargs={"org_slug": membership.organization.slug, **kwargs})


def today():
    return timezone.localdate()


def report(actor, kind=Incident.Kind.OTHER, title="Synthetic incident", **fields):
    data = {
        "kind": kind,
        "title": title,
        "description": "Synthetic narrative.",
        "discovered_on": today() - dt.timedelta(days=1),
        **fields,
    }
    return services.incident_report(actor=actor, data=services.ReportData(**data))


def report_form(**overrides):
    return {
        "kind": "misdirected",
        "title": "Fax to the wrong number",
        "description": "A remittance went to a wrong fax number.",
        "discovered_on": today().isoformat(),
        "discovery_basis": "known",
        "systems": "Fax server",
        "data_involved": "names, claim amounts",
        **overrides,
    }


def sign_not_breach(officer, incident):
    draft = services.assessment_start(actor=officer, incident=incident)
    services.assessment_save(
        actor=officer,
        assessment=draft,
        data=services.AssessmentData(
            nature_extent="Names", recipient="A colleague", acquired="no", acquired_notes="",
            mitigation="None needed", phi_secured=False, exception="good_faith_workforce",
            decision="not_breach", reasons="A colleague within their authority.",
        ),
    )  # fmt: skip
    return services.assessment_sign(actor=officer, assessment=draft)


# --- Reporting --------------------------------------------------------------------------


def test_any_member_reports_and_the_officers_are_mailed(
    workforce_member, privacy_officer, login_client, django_capture_on_commit_callbacks
):
    client = login_client(workforce_member)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(workforce_member, "report"), report_form())

    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url(workforce_member, "detail", incident_id=incident.pk)
    assert incident.reported_by == workforce_member.user
    assert incident.steps.count() == 5
    assert [m.to for m in mail.outbox] == [[privacy_officer.user.email]]
    assert incident.reference in mail.outbox[0].subject
    incident.refresh_from_db()
    assert incident.officers_notified_at is not None


def test_report_page_offers_the_form_to_every_member(workforce_member, login_client):
    response = login_client(workforce_member).get(url(workforce_member, "report"))

    assert response.status_code == 200
    assert b'name="description"' in response.content
    assert b"Report an incident" in response.content


@pytest.mark.parametrize(
    ("_case", "overrides", "field"),
    [
        ("invalid_date", {"discovered_on": "2025-02-30"}, "discovered_on"),
        ("future_discovery", {"discovered_on": "2999-01-01"}, "discovered_on"),
        ("began_after_discovery", {"occurred_on": "2999-01-01"}, "occurred_on"),
        ("vendor_kind_needs_vendor", {"kind": "vendor"}, "vendor"),
        ("no_description", {"description": ""}, "description"),
    ],
)
def test_invalid_report_shows_errors_and_files_nothing(
    _case, overrides, field, workforce_member, login_client
):
    response = login_client(workforce_member).post(
        url(workforce_member, "report"), report_form(**overrides)
    )

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not Incident.objects.exists()


def test_vendor_incident_names_its_vendor(owner, workforce_member, login_client):
    vendor = make_vendor(owner)

    response = login_client(workforce_member).post(
        url(workforce_member, "report"), report_form(kind="vendor", vendor=vendor.pk)
    )

    assert response.status_code == 302
    assert Incident.objects.get().vendor == vendor


def test_a_double_submit_files_one_incident(workforce_member, login_client):
    client = login_client(workforce_member)
    form = report_form(submission="a1b2c3")

    first = client.post(url(workforce_member, "report"), form)
    second = client.post(url(workforce_member, "report"), form)

    incident = Incident.objects.get()
    assert first["Location"] == second["Location"]
    assert second["Location"] == url(workforce_member, "detail", incident_id=incident.pk)


# --- Who sees what ----------------------------------------------------------------------


def test_reporter_sees_their_own_incident_but_not_anothers(workforce_member, biller, login_client):
    mine = report(workforce_member, title="Mine")
    theirs = report(biller, title="Theirs")
    client = login_client(workforce_member)

    listing = client.get(url(workforce_member, "list"))
    own = client.get(url(workforce_member, "detail", incident_id=mine.pk))
    other = client.get(url(workforce_member, "detail", incident_id=theirs.pk))

    assert listing.status_code == 200
    assert b"Mine" in listing.content
    assert b"Theirs" not in listing.content
    assert own.status_code == 200
    assert b"Synthetic narrative." in own.content
    assert other.status_code == 403
    assert b"Theirs" not in other.content


def test_officer_sees_every_incident_and_an_outsider_none(
    workforce_member, privacy_officer, outsider, login_client
):
    incident = report(workforce_member, title="Reported by staff")

    seen = login_client(privacy_officer).get(
        url(privacy_officer, "detail", incident_id=incident.pk)
    )
    stranger = login_client(outsider).get(
        reverse(
            "incidents:detail",
            kwargs={"org_slug": privacy_officer.organization.slug, "incident_id": incident.pk},
        )
    )

    assert seen.status_code == 200
    assert b"Reported by staff" in seen.content
    assert stranger.status_code == 404


def test_member_without_manage_gets_403_on_officer_pages(workforce_member, login_client):
    incident = report(workforce_member)

    response = login_client(workforce_member).get(
        url(workforce_member, "scope", incident_id=incident.pk)
    )

    assert response.status_code == 403


# --- Containment ------------------------------------------------------------------------


@pytest.fixture
def snoop(make_member):
    return make_member(Role.AR_SPECIALIST, email="snoop@example.test")


def step_of(incident, key):
    return incident.steps.get(key=key)


def test_one_click_ends_sessions_revokes_tokens_and_deactivates(
    privacy_officer, snoop, login_client
):
    incident = report(privacy_officer, kind=Incident.Kind.UNAUTHORIZED_ACCESS)
    token, _secret = api_token_create(
        actor=snoop, name="Snoop token", scopes=[Capability.DASHBOARD_VIEW.value], days=30
    )
    client = login_client(privacy_officer)
    generation = snoop.user.session_generation

    for key in ("end-sessions", "revoke-tokens", "deactivate-member"):
        step = step_of(incident, key)
        response = client.post(
            url(privacy_officer, "step", step_id=step.pk), {"membership": snoop.pk}
        )
        assert response.status_code == 302
        step.refresh_from_db()
        assert step.done_at is not None
        assert step.target_membership == snoop

    assert User.objects.get(pk=snoop.user_id).session_generation > generation
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert Membership.objects.get(pk=snoop.pk).is_active is False


def test_one_click_suspends_the_vendor(privacy_officer, login_client):
    vendor = make_vendor(privacy_officer)
    incident = report(privacy_officer, kind=Incident.Kind.VENDOR, vendor_id=vendor.pk)
    step = step_of(incident, "suspend-vendor")

    response = login_client(privacy_officer).post(
        url(privacy_officer, "step", step_id=step.pk), {"vendor": vendor.pk}
    )

    assert response.status_code == 302
    assert Vendor.objects.get(pk=vendor.pk).status == Vendor.Status.SUSPENDED
    step.refresh_from_db()
    assert step.target_vendor == vendor


def test_a_step_without_its_target_is_refused_with_a_message(privacy_officer, login_client):
    incident = report(privacy_officer, kind=Incident.Kind.UNAUTHORIZED_ACCESS)
    step = step_of(incident, "deactivate-member")

    response = login_client(privacy_officer).post(
        url(privacy_officer, "step", step_id=step.pk), {}, follow=True
    )

    assert response.status_code == 200
    assert b"Choose the member." in response.content
    step.refresh_from_db()
    assert step.done_at is None


def test_manual_step_is_recorded_once(privacy_officer, login_client):
    incident = report(privacy_officer)
    step = step_of(incident, "officer-informed")
    client = login_client(privacy_officer)

    client.post(url(privacy_officer, "step", step_id=step.pk), {"note": "Called"})
    client.post(url(privacy_officer, "step", step_id=step.pk), {"note": "Called again"})

    step.refresh_from_db()
    assert step.note == "Called"
    assert AuditEvent.objects.filter(event_code=EventCode.INCIDENT_STEP_DONE).count() == 1


# --- Scoping and evidence ---------------------------------------------------------------


def window_form(world):
    since, until = window()
    return {
        "members": [world["snoop"].user_id],
        "since": since.strftime("%Y-%m-%dT%H:%M"),
        "until": until.strftime("%Y-%m-%dT%H:%M"),
    }


def test_scoping_through_the_form_stores_a_run(owner, world, login_client):
    incident = report(owner, kind=Incident.Kind.UNAUTHORIZED_ACCESS)
    client = login_client(owner)

    page = client.get(url(owner, "scope", incident_id=incident.pk))
    response = client.post(url(owner, "scope", incident_id=incident.pk), window_form(world))

    assert page.status_code == 200
    assert response.status_code == 302
    run = ScopingRun.objects.get()
    assert run.incident == incident
    assert run.individuals == 5
    assert run.query["actor_ids"] == [world["snoop"].user_id]
    assert incident.clients.count() == 2


def test_scoping_without_a_window_shows_the_error(owner, world, login_client):
    incident = report(owner)
    form = {"members": [world["snoop"].user_id]}

    response = login_client(owner).post(url(owner, "scope", incident_id=incident.pk), form)

    assert response.status_code == 200
    assert b"Give the time window" in response.content
    assert not ScopingRun.objects.exists()


def test_evidence_snapshot_is_taken_and_ticks_its_step(owner, world, login_client):
    incident = report(owner, kind=Incident.Kind.UNAUTHORIZED_ACCESS)

    response = login_client(owner).post(
        url(owner, "evidence", incident_id=incident.pk), window_form(world)
    )

    assert response.status_code == 302
    snapshot = incident.snapshots.get()
    assert snapshot.event_count == 3
    assert step_of(incident, "evidence-sealed").done_at is not None


# --- Assessment -------------------------------------------------------------------------


def assessment_form(**overrides):
    return {
        "nature_extent": "Names",
        "recipient": "A colleague",
        "acquired": "no",
        "mitigation": "Reminded",
        "exception": "good_faith_workforce",
        "decision": "not_breach",
        "reasons": "Within authority.",
        **overrides,
    }


def test_a_signed_version_is_locked_and_a_new_version_copies_it(privacy_officer, login_client):
    incident = report(privacy_officer)
    client = login_client(privacy_officer)

    started = client.post(url(privacy_officer, "assessment-new", incident_id=incident.pk))
    first = Assessment.objects.get()
    saved = client.post(
        url(privacy_officer, "assessment", assessment_id=first.pk), assessment_form()
    )
    signed = client.post(url(privacy_officer, "assessment-sign", assessment_id=first.pk))
    again = client.post(
        url(privacy_officer, "assessment", assessment_id=first.pk),
        assessment_form(reasons="Changed after signing"),
    )
    renewed = client.post(url(privacy_officer, "assessment-new", incident_id=incident.pk))

    assert started["Location"] == url(privacy_officer, "assessment", assessment_id=first.pk)
    assert saved.status_code == 302
    assert signed.status_code == 302
    assert again.status_code == 200
    assert b"signed and locked" in again.content
    first.refresh_from_db()
    assert first.is_signed
    assert first.reasons == "Within authority."
    second = Assessment.objects.get(version=2)
    assert renewed["Location"] == url(privacy_officer, "assessment", assessment_id=second.pk)
    assert second.reasons == "Within authority."
    assert not second.is_signed


def test_signing_without_a_decision_shows_why(privacy_officer, login_client):
    incident = report(privacy_officer)
    draft = services.assessment_start(actor=privacy_officer, incident=incident)

    response = login_client(privacy_officer).post(
        url(privacy_officer, "assessment-sign", assessment_id=draft.pk)
    )

    assert response.status_code == 200
    assert b"Decide: breach" in response.content
    draft.refresh_from_db()
    assert not draft.is_signed


# --- Deadlines and notices --------------------------------------------------------------


def test_deadlines_per_client_are_shown_with_days_left(privacy_officer, clients, login_client):
    incident = report(privacy_officer, client_ids=[clients[0].pk])
    [row] = selectors.client_deadlines(incident)

    response = login_client(privacy_officer).get(
        url(privacy_officer, "detail", incident_id=incident.pk)
    )

    assert response.status_code == 200
    [shown] = response.context["deadlines"]
    assert shown["days_left"] == (row.deadline.due_on - today()).days
    assert f"{row.deadline.due_on:%Y-%m-%d}".encode() in response.content
    assert clients[0].name.encode() in response.content


@pytest.fixture
def breach(owner, world):
    """A signed breach decision over the snoop's reads, with its notices planned."""
    incident = report(owner, kind=Incident.Kind.UNAUTHORIZED_ACCESS)
    since, until = window()
    run = services.scoping_run(
        actor=owner,
        incident=incident,
        query=ScopeQuery(actor_ids=[world["snoop"].user_id], since=since, until=until),
    )
    draft = services.assessment_start(actor=owner, incident=incident)
    services.assessment_save(
        actor=owner,
        assessment=draft,
        data=services.AssessmentData(
            nature_extent="Names", recipient="A member", acquired="yes", acquired_notes="",
            mitigation="Access removed", phi_secured=False, exception="", decision="breach",
            reasons="Snooping.", scoping_id=run.pk,
        ),
    )  # fmt: skip
    services.assessment_sign(actor=owner, assessment=draft)
    return incident


def test_notice_is_generated_downloaded_and_marked_sent(owner, breach, login_client):
    notice = breach.notices.filter(recipient=Notice.Recipient.CLIENT).order_by("pk").first()
    client = login_client(owner)

    generated = client.post(url(owner, "notice-generate", notice_id=notice.pk))
    letter = client.get(url(owner, "notice-download", notice_id=notice.pk, kind="letter"))
    sent = client.post(
        url(owner, "notice-sent", incident_id=breach.pk),
        {"notice": notice.pk, "method": "Secure e-mail"},
    )
    acked = client.post(
        url(owner, "notice-ack", incident_id=breach.pk), {"notice": notice.pk, "note": "Got it"}
    )

    assert generated.status_code == 302
    assert letter.status_code == 200
    assert letter["Content-Type"] == "application/pdf"
    assert letter.content.startswith(b"%PDF")
    assert sent.status_code == 302
    assert acked.status_code == 302
    notice.refresh_from_db()
    assert notice.is_sent
    assert notice.sent_method == "Secure e-mail"
    assert notice.acknowledged_note == "Got it"


def test_patient_list_needs_a_fresh_reauthentication(owner, breach, login_client):
    notice = breach.notices.filter(recipient=Notice.Recipient.CLIENT).order_by("pk").first()
    client = login_client(owner)
    client.post(url(owner, "notice-generate", notice_id=notice.pk))
    target = url(owner, "notice-download", notice_id=notice.pk, kind="patients")

    asked = client.get(target)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    given = client.get(target)

    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    assert given.status_code == 200
    assert given["Content-Type"].startswith("text/csv")


def test_unknown_document_kind_is_404(owner, breach, login_client):
    notice = breach.notices.order_by("pk").first()

    response = login_client(owner).get(
        url(owner, "notice-download", notice_id=notice.pk, kind="everything")
    )

    assert response.status_code == 404


def test_breach_log_lists_the_breach_and_exports_it(owner, breach, login_client):
    client = login_client(owner)
    year = breach.discovered_on.year

    page = client.get(url(owner, "breach-log"), {"year": year})
    export = client.post(url(owner, "breach-log-export"), {"year": year, "fmt": "csv"})

    assert page.status_code == 200
    assert breach.reference.encode() in page.content
    assert export.status_code == 200
    assert breach.reference.encode() in export.content


def test_timeline_pdf_downloads(owner, breach, login_client):
    response = login_client(owner).get(url(owner, "timeline-pdf", incident_id=breach.pk))

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


# --- Close-out --------------------------------------------------------------------------


def test_close_is_blocked_with_reasons_then_allowed(privacy_officer, login_client):
    incident = report(privacy_officer)
    client = login_client(privacy_officer)
    close = url(privacy_officer, "close", incident_id=incident.pk)

    blocked = client.post(close, {"root_cause": "Wrong number on file"})

    assert blocked.status_code == 200
    assert b"Containment steps are still open." in blocked.content
    assert b"The risk assessment is not signed." in blocked.content
    for step in incident.steps.all():
        client.post(url(privacy_officer, "step", step_id=step.pk))
    sign_not_breach(privacy_officer, incident)
    added = client.post(
        url(privacy_officer, "action-add", incident_id=incident.pk),
        {
            "description": "Verify fax numbers quarterly",
            "owner": privacy_officer.user_id,
            "due_on": (today() + dt.timedelta(days=30)).isoformat(),
        },
    )
    action = CorrectiveAction.objects.get()
    done = client.post(url(privacy_officer, "action-done", action_id=action.pk))
    verified = client.post(
        url(privacy_officer, "action-verify", action_id=action.pk), {"verification": "Checked"}
    )
    closed = client.post(close, {"root_cause": "Wrong number on file"})

    assert (added.status_code, done.status_code, verified.status_code) == (302, 302, 302)
    assert closed.status_code == 302
    incident.refresh_from_db()
    assert incident.is_closed
    assert incident.root_cause == "Wrong number on file"
    page = client.get(url(privacy_officer, "detail", incident_id=incident.pk))
    assert b"Closed" in page.content


def test_corrective_action_with_an_early_due_date_shows_the_error(privacy_officer, login_client):
    incident = report(privacy_officer)

    response = login_client(privacy_officer).post(
        url(privacy_officer, "action-add", incident_id=incident.pk),
        {"description": "Too early", "owner": privacy_officer.user_id, "due_on": "2000-01-01"},
    )

    assert response.status_code == 200
    assert response.context["action_form"].errors["due_on"]
    assert not CorrectiveAction.objects.exists()


def test_facts_can_be_corrected(privacy_officer, clients, login_client):
    incident = report(privacy_officer)

    response = login_client(privacy_officer).post(
        url(privacy_officer, "edit", incident_id=incident.pk),
        {
            "kind": "misdirected",
            "title": "Corrected label",
            "discovered_on": incident.discovered_on.isoformat(),
            "discovery_basis": "diligence",
            "clients": [clients[1].pk],
        },
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Corrected label"
    assert list(incident.clients.all()) == [clients[1]]


def test_nav_links_to_incidents_and_reporting_for_every_member(workforce_member, login_client):
    response = login_client(workforce_member).get(url(workforce_member, "list"))

    assert url(workforce_member, "report").encode() in response.content
    assert b">Incidents</a>" in response.content


def test_a_double_submitted_corrective_action_is_added_once(privacy_officer, login_client):
    incident = report(privacy_officer)
    client = login_client(privacy_officer)
    form = {
        "description": "Quarterly fax number check",
        "owner": privacy_officer.user_id,
        "due_on": (today() + dt.timedelta(days=30)).isoformat(),
        "submission": "f00d",
    }

    first = client.post(url(privacy_officer, "action-add", incident_id=incident.pk), form)
    second = client.post(url(privacy_officer, "action-add", incident_id=incident.pk), form)

    assert (first.status_code, second.status_code) == (302, 302)
    assert CorrectiveAction.objects.count() == 1
