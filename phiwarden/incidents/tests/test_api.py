"""The incidents API end to end on generated billing data: a member reports, an officer
scopes from the audit trail, signs a breach, sends the notices the deadlines call for and
closes once nothing blocks it. Refusals change nothing; patient ids never leave."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client as HttpClient

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import ROLE_CAPABILITIES, Role
from phiwarden.accounts.services import api_token_create
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.incidents import services
from phiwarden.incidents.models import ContainmentStep, Incident, Notice, ScopingRun
from phiwarden.incidents.submissions import Submission
from phiwarden.incidents.tests.factories import window
from phiwarden.partners.models import Vendor

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 10, 15, 0, tzinfo=dt.UTC)
DISCOVERED = "2026-11-02"
NARRATIVE = "Synthetic narrative: a member opened records of patients outside their queue."
Api = Callable[..., Any]


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _caller(membership: Membership) -> Api:
    """Calls /api/v1 with a token holding every capability of the member's role."""
    _token, raw = api_token_create(
        actor=membership,
        name="script",
        scopes=sorted(c.value for c in ROLE_CAPABILITIES[Role(membership.role)]),
        days=30,
    )
    auth = {"Authorization": f"Bearer {raw}"}

    def call(
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        url = f"/api/v1{path}"
        sent = {**auth, **(headers or {})}
        if body is None:
            return HttpClient().generic(method, url, headers=sent)
        return HttpClient().generic(
            method, url, json.dumps(body), content_type="application/json", headers=sent
        )

    return call


@pytest.fixture
def officer_api(privacy_officer: Membership) -> Api:
    return _caller(privacy_officer)


@pytest.fixture
def reporter(make_member: Callable[..., Membership]) -> Membership:
    return make_member(Role.CODER, email="reporter@example.test")


@pytest.fixture
def reporter_api(reporter: Membership) -> Api:
    return _caller(reporter)


def _report(api: Api, key: str = "", **extra: Any) -> Any:
    body = {
        "kind": "unauthorized_access",
        "title": "Snooping in the A/R queue",
        "description": NARRATIVE,
        "discovered_on": DISCOVERED,
        "systems": "PHI Warden billing",
        **extra,
    }
    return api("POST", "/incidents", body, {"Idempotency-Key": key} if key else None)


def _window_body(member: Membership) -> dict[str, Any]:
    since, until = window()
    return {
        "actor_ids": [member.user_id],
        "since": since.isoformat(),
        "until": until.isoformat(),
    }


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def _no_patients(body: Any) -> None:
    assert [k for k in _keys(body) if "patient" in k and k != "has_patient_list"] == []


def _events(code: EventCode) -> int:
    return AuditEvent.objects.filter(event_code=code).count()


# --- The whole life of a breach --------------------------------------------------------


def _contain(api: Api, incident_id: int, snoop: Membership) -> None:
    """Every containment step: the one-click ones on the snoop, the rest by hand; the
    evidence snapshot records its own step."""
    detail = api("GET", f"/incidents/{incident_id}").json()
    snapshot = api("POST", f"/incidents/{incident_id}/evidence", _window_body(snoop))
    assert snapshot.status_code == 201, snapshot.content
    assert snapshot.json()["event_count"] == 3
    for step in detail["steps"]:
        if step["key"] == "evidence-sealed":
            continue
        body: dict[str, Any] = (
            {"membership_id": snoop.pk} if step["action"] else {"note": "Done by phone"}
        )
        response = api("POST", f"/incidents/steps/{step['id']}", body)
        assert response.status_code == 200, response.content
        assert response.json()["done_at"] is not None


def test_report_scope_sign_notify_and_close(
    world: dict[str, Any],
    officer_api: Api,
    reporter_api: Api,
    privacy_officer: Membership,
    clients: list[Client],
) -> None:
    # Given a report by a member of the workforce
    reported = _report(reporter_api)
    assert reported.status_code == 201, reported.content
    incident_id = reported.json()["id"]
    assert reported.json()["reference"] == "INC-2026-0001"
    assert "description" not in reported.json()
    assert NARRATIVE not in reported.content.decode()
    assert [r["id"] for r in reporter_api("GET", "/incidents").json()["rows"]] == [incident_id]
    assert [r["id"] for r in officer_api("GET", "/incidents").json()["rows"]] == [incident_id]

    # When the officer scopes it from the audit trail
    scoped = officer_api("POST", f"/incidents/{incident_id}/scopings", _window_body(world["snoop"]))

    # Then the counts come back, by client and by state, and never the patients
    assert scoped.status_code == 201, scoped.content
    scope = scoped.json()
    assert (scope["individuals"], scope["events"], scope["viewed_events"]) == (5, 3, 3)
    assert scope["by_client"] == {str(clients[0].pk): 3, str(clients[1].pk): 2}
    assert sum(scope["by_state"].values()) == 5
    assert scope["phi_classes"] == ["Social Security numbers", "financial data", "names"]
    _no_patients(scope)
    run = ScopingRun.objects.get()
    assert len(run.patient_ids) == 5
    # Our notice deadline per client runs from discovery: 60 days with no BAA window.
    detail = officer_api("GET", f"/incidents/{incident_id}").json()
    assert [(d["client_id"], d["due_on"], d["days_left"]) for d in detail["deadlines"]] == [
        (clients[0].pk, "2027-01-01", 52),
        (clients[1].pk, "2027-01-01", 52),
    ]
    assert detail["scoping"]["id"] == run.pk

    # When the officer assesses it as a breach and signs
    saved = officer_api(
        "POST",
        f"/incidents/{incident_id}/assessment",
        {"decision": "breach", "reasons": "The member had no task on these accounts."},
    )
    assert saved.status_code == 200, saved.content
    assert (saved.json()["version"], saved.json()["scoping_id"]) == (1, run.pk)
    assert saved.json()["acquired"] == "yes"  # prefilled: the events returned PHI fields
    signed = officer_api("POST", f"/incidents/assessments/{saved.json()['id']}/sign")
    assert signed.status_code == 200, signed.content
    assert signed.json()["is_signed"] is True

    # Then the notices are planned with their deadlines
    detail = officer_api("GET", f"/incidents/{incident_id}").json()
    assert detail["status"] == "assessed"
    ours = [n for n in detail["notices"] if n["recipient"] == "client"]
    assert sorted((n["client_id"], n["individuals"], n["due_on"]) for n in ours) == [
        (clients[0].pk, 3, "2027-01-01"),
        (clients[1].pk, 2, "2027-01-01"),
    ]
    assert {n["recipient"] for n in detail["notices"]} == {"client", "individuals", "hhs"}
    assert "Notices to clients are not all sent." in detail["close_blockers"]

    # And closing is refused while anything blocks it, and changes nothing
    blocked = officer_api("POST", f"/incidents/{incident_id}/close", {"root_cause": "Snooping"})
    assert blocked.status_code == 422
    assert "Containment steps are still open." in blocked.json()["detail"][-1]
    assert Incident.objects.get().status == Incident.Status.ASSESSED

    # When everything is done
    _contain(officer_api, incident_id, world["snoop"])
    for notice in ours:
        base = f"/incidents/notices/{notice['id']}"
        generated = officer_api("POST", f"{base}/generate")
        assert generated.status_code == 200, generated.content
        assert generated.json()["has_letter"] is True
        letter = officer_api("GET", f"{base}/files/letter")
        assert letter.status_code == 200
        assert letter["Cache-Control"] == "no-store"
        sent = officer_api("POST", f"{base}/sent", {"method": "Encrypted e-mail"})
        assert sent.status_code == 200, sent.content
        assert sent.json()["sent_on_time"] is True
        again = officer_api("POST", f"{base}/sent", {"method": "Encrypted e-mail"})
        assert again.json()["sent_at"] == sent.json()["sent_at"]  # a double submit: once
        acknowledged = officer_api("POST", f"{base}/ack", {"note": "Receipt by e-mail"})
        assert acknowledged.json()["acknowledged_at"] is not None
    assert _events(EventCode.INCIDENT_NOTICE_SENT) == 2
    # The client's own deadlines now run from the day we told it (60 days on).
    individuals = [
        n
        for n in officer_api("GET", f"/incidents/{incident_id}").json()["notices"]
        if n["recipient"] == "individuals"
    ]
    assert {n["due_on"] for n in individuals} == {"2027-01-09"}
    not_a_client_notice = officer_api(
        "POST", f"/incidents/notices/{individuals[0]['id']}/ack", {"note": "x"}
    )
    assert not_a_client_notice.status_code == 404
    action = officer_api(
        "POST",
        f"/incidents/{incident_id}/actions",
        {
            "description": "Quarterly access review of A/R",
            "owner_id": privacy_officer.user_id,
            "due_on": "2026-12-01",
        },
    )
    assert action.status_code == 201, action.content
    action_base = f"/incidents/actions/{action.json()['id']}"
    assert officer_api("POST", f"{action_base}/done").status_code == 200
    verified = officer_api("POST", f"{action_base}/verify", {"verification": "Review held"})
    assert verified.json()["verified_at"] is not None

    # Then it closes
    closed = officer_api("POST", f"/incidents/{incident_id}/close", {"root_cause": "Snooping"})
    assert closed.status_code == 200, closed.content
    assert (closed.json()["status"], closed.json()["close_blockers"]) == ("closed", [])
    timeline = officer_api("GET", f"/incidents/{incident_id}/timeline").json()
    assert timeline["entries"][-1]["what"] == "Closed"
    _no_patients(closed.json())
    _no_patients(timeline)


def test_the_description_leaves_only_through_its_audited_endpoint(
    officer_api: Api, reporter_api: Api
) -> None:
    incident_id = _report(reporter_api).json()["id"]

    listed = officer_api("GET", "/incidents")
    detail = officer_api("GET", f"/incidents/{incident_id}")
    read = officer_api("GET", f"/incidents/{incident_id}/description")

    assert NARRATIVE not in listed.content.decode() + detail.content.decode()
    assert read.json() == {"incident_id": incident_id, "description": NARRATIVE}
    assert _events(EventCode.INCIDENT_VIEWED) == 1


def test_the_list_is_paginated_newest_first(officer_api: Api) -> None:
    ids = [_report(officer_api, title=f"Incident {n}").json()["id"] for n in range(3)]

    first = officer_api("GET", "/incidents?limit=2").json()
    second = officer_api("GET", f"/incidents?limit=2&after={first['next_after']}").json()

    assert [r["id"] for r in first["rows"]] == [ids[2], ids[1]]
    assert [r["id"] for r in second["rows"]] == [ids[0]]
    assert second["next_after"] is None


# --- Facts, including a law-enforcement delay ------------------------------------------


def test_a_written_law_enforcement_delay_moves_the_deadline(
    officer_api: Api, clients: list[Client]
) -> None:
    incident_id = _report(officer_api, client_ids=[clients[0].pk]).json()["id"]

    patched = officer_api(
        "PATCH",
        f"/incidents/{incident_id}",
        {"delay_kind": "written", "delay_stated_on": "2026-11-05", "delay_until": "2027-02-01"},
    )

    assert patched.status_code == 200, patched.content
    [deadline] = patched.json()["deadlines"]
    assert (deadline["due_on"], deadline["delayed_from"]) == ("2027-02-01", "2027-01-01")
    assert deadline["citation"] == "45 CFR 164.410(b), 164.412"
    assert patched.json()["title"] == "Snooping in the A/R queue"  # not sent, not changed


@pytest.mark.parametrize(
    ("_case", "body", "message"),
    [
        (
            "written_without_end",
            {"delay_kind": "written", "delay_stated_on": "2026-11-05"},
            "delay_until: A written statement specifies how long notice must wait.",
        ),
        ("title_null", {"title": None}, "title: may not be null."),
        (
            "ends_before_start",
            {"occurred_on": "2026-10-20", "ended_on": "2026-10-10"},
            "ended_on: It cannot end before it began.",
        ),
    ],
)
def test_invalid_facts_are_422_naming_the_field(
    _case: str, body: dict[str, Any], message: str, officer_api: Api
) -> None:
    incident_id = _report(officer_api).json()["id"]
    before = Incident.objects.values().get()

    response = officer_api("PATCH", f"/incidents/{incident_id}", body)

    assert response.status_code == 422
    assert response.json() == {"detail": [message]}
    assert Incident.objects.values().get() == before


# --- Validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "extra", "message"),
    [
        (
            "future_discovery",
            {"discovered_on": "2026-11-11"},
            "discovered_on: The discovery date cannot be in the future.",
        ),
        ("blank_title", {"title": "  "}, "title: Give the incident a short label."),
        (
            "vendor_without_vendor",
            {"kind": "vendor"},
            "vendor_id: Name the vendor (its BAA sets what it owes us).",
        ),
        ("unknown_kind", {"kind": "alien"}, "kind: Choose what kind of incident this is."),
    ],
)
def test_invalid_report_is_422_naming_the_field_and_writes_nothing(
    _case: str, extra: dict[str, Any], message: str, reporter_api: Api
) -> None:
    response = _report(reporter_api, **extra)

    assert response.status_code == 422
    assert response.json() == {"detail": [message]}
    assert NARRATIVE not in response.content.decode()
    assert not Incident.objects.exists()


def test_a_malformed_date_is_422_without_echoing_the_input(reporter_api: Api) -> None:
    response = _report(reporter_api, discovered_on="Jane Synthetic 1950")

    assert response.status_code == 422
    assert "Jane Synthetic" not in response.content.decode()
    assert not Incident.objects.exists()


def test_scoping_needs_a_question(world: dict[str, Any], officer_api: Api) -> None:
    incident_id = _report(officer_api).json()["id"]

    response = officer_api("POST", f"/incidents/{incident_id}/scopings", {})

    assert response.status_code == 422
    assert response.json()["detail"] == ["Name the members, API tokens or imported files to scope."]
    assert not ScopingRun.objects.exists()


# --- Tenancy and capabilities ----------------------------------------------------------


def test_another_organizations_incident_is_404(
    officer_api: Api, outsider: Membership, other_organization: Any
) -> None:
    theirs = services.incident_report(
        actor=outsider,
        data=services.ReportData(
            kind="other",
            title="Their incident",
            description="Their synthetic narrative",
            discovered_on=dt.date(2026, 11, 1),
        ),
    )
    step = theirs.steps.first()
    assert step is not None
    draft = services.assessment_start(actor=outsider, incident=theirs)
    action = services.corrective_action_add(
        actor=outsider,
        incident=theirs,
        data=services.ActionData(
            description="Their action", owner_id=outsider.user_id, due_on=dt.date(2026, 12, 1)
        ),
    )

    for method, path, body in [
        ("GET", f"/incidents/{theirs.pk}", None),
        ("GET", f"/incidents/{theirs.pk}/description", None),
        ("PATCH", f"/incidents/{theirs.pk}", {"title": "Mine now"}),
        ("POST", f"/incidents/steps/{step.pk}", {"note": "x"}),
        ("POST", f"/incidents/assessments/{draft.pk}/sign", None),
        ("POST", f"/incidents/actions/{action.pk}/done", None),
        ("POST", f"/incidents/actions/{action.pk}/verify", {"verification": "x"}),
        ("POST", f"/incidents/{theirs.pk}/assessment", {"reasons": "x"}),
        ("POST", f"/incidents/{theirs.pk}/close", {"root_cause": "x"}),
    ]:
        response = officer_api(method, path, body)
        assert (method, path, response.status_code) == (method, path, 404)
        assert response.json() == {"detail": "Not found"}
    assert Incident.objects.get(pk=theirs.pk).title == "Their incident"
    assert not ContainmentStep.objects.filter(done_at__isnull=False).exists()
    action.refresh_from_db()
    assert action.done_at is None
    assert _events(EventCode.INCIDENT_VIEWED) == 0


def test_another_organizations_ids_in_a_body_are_404(
    officer_api: Api, outsider: Membership, other_organization: Any
) -> None:
    their_client = Client.objects.create(organization=other_organization, name="Their Clinic")
    their_vendor = Vendor.objects.create(organization=other_organization, name="Their Vendor")

    with_client = _report(officer_api, client_ids=[their_client.pk])
    with_vendor = _report(officer_api, kind="vendor", vendor_id=their_vendor.pk)

    assert (with_client.status_code, with_vendor.status_code) == (404, 404)
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("_case", "method", "path", "body"),
    [
        ("detail", "GET", "", None),
        ("patch", "PATCH", "", {"title": "Renamed by the reporter"}),
        ("scope", "POST", "/scopings", {"file_ids": [1]}),
        ("assess", "POST", "/assessment", {"decision": "not_breach"}),
        ("close", "POST", "/close", {"root_cause": "None"}),
        ("description", "GET", "/description", None),
        ("timeline", "GET", "/timeline", None),
    ],
)
def test_a_reporter_cannot_manage_and_the_refusal_changes_nothing(
    _case: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    reporter_api: Api,
    reporter: Membership,
) -> None:
    incident_id = _report(reporter_api).json()["id"]
    before = (Incident.objects.values().get(), ScopingRun.objects.count())
    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    response = reporter_api(method, f"/incidents/{incident_id}{path}", body)

    assert response.status_code == 403
    assert response.json() == {"detail": "Not allowed"}
    assert (Incident.objects.values().get(), ScopingRun.objects.count()) == before
    events = AuditEvent.objects.filter(pk__gt=last_event)
    assert [(e.event_code, e.actor_id, e.data) for e in events] == [
        (EventCode.ACCESS_DENIED.value, reporter.user_id, {"capability": "incidents.manage"})
    ]


def test_a_reporter_lists_only_their_own(
    officer_api: Api, reporter_api: Api, reporter: Membership
) -> None:
    _report(officer_api, title="The officer's own")
    mine = _report(reporter_api).json()["id"]

    rows = reporter_api("GET", "/incidents").json()["rows"]

    assert [r["id"] for r in rows] == [mine]
    assert reporter_api("GET", "/incidents/breach-log").status_code == 403


# --- Double submits --------------------------------------------------------------------


def test_double_submits_record_once(world: dict[str, Any], officer_api: Api) -> None:
    incident_id = _report(officer_api, kind="other").json()["id"]
    step = ContainmentStep.objects.filter(incident_id=incident_id, action="").first()
    assert step is not None
    path = f"/incidents/steps/{step.pk}"

    first = officer_api("POST", path, {"note": "Officers told"})
    second = officer_api("POST", path, {"note": "Officers told"})

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["done_at"] == second.json()["done_at"]
    assert _events(EventCode.INCIDENT_STEP_DONE) == 1

    officer_api("POST", f"/incidents/{incident_id}/assessment", {"decision": "not_breach"})
    versions = [
        officer_api("POST", f"/incidents/{incident_id}/assessment/versions") for _ in range(2)
    ]
    assert [v.status_code for v in versions] == [200, 200]  # the open draft, not a new one
    assert versions[0].json()["id"] == versions[1].json()["id"]


KEY = "3f0c9a52-8d1e-4b7a-9c55-1e2f3a4b5c6d"


def test_a_retried_report_with_the_same_key_reports_once(
    officer_api: Api, reporter_api: Api
) -> None:
    first = _report(officer_api, key=KEY)
    second = _report(officer_api, key=KEY)
    other_member = _report(reporter_api, key=KEY)  # a key is one member's
    no_key = _report(officer_api)

    assert [r.status_code for r in (first, second, other_member, no_key)] == [201] * 4
    assert second.json() == first.json()
    ids = {r.json()["id"] for r in (first, other_member, no_key)}
    assert len(ids) == 3
    assert Incident.objects.count() == 3
    assert _events(EventCode.INCIDENT_REPORTED) == 3


def test_a_refused_report_frees_its_key_for_the_corrected_retry(officer_api: Api) -> None:
    refused = _report(officer_api, key=KEY, title="  ")
    corrected = _report(officer_api, key=KEY)

    assert refused.status_code == 422
    assert corrected.status_code == 201
    assert Incident.objects.count() == 1


def test_a_retry_while_the_first_is_running_is_told_to_wait(
    officer_api: Api, privacy_officer: Membership
) -> None:
    assert Submission("api-report", privacy_officer.user_id, KEY).repeated() is None  # claimed

    response = _report(officer_api, key=KEY)

    assert response.status_code == 409
    assert "still running" in response.json()["detail"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize("key", ["x" * 65, "spaces are not allowed", "semi;colon", "é"])
def test_a_malformed_key_is_refused_and_nothing_is_reported(officer_api: Api, key: str) -> None:
    response = _report(officer_api, key=key)

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"][0]
    assert not Incident.objects.exists()


def test_signing_twice_signs_once_and_a_new_version_copies_it(
    world: dict[str, Any], officer_api: Api
) -> None:
    incident_id = _report(officer_api).json()["id"]
    officer_api("POST", f"/incidents/{incident_id}/scopings", _window_body(world["snoop"]))
    officer_api(
        "POST",
        f"/incidents/{incident_id}/assessment",
        {
            "decision": "not_breach",
            "phi_secured": True,
            "reasons": "The export was encrypted and the key was never exposed.",
        },
    )

    draft_id = officer_api("GET", f"/incidents/{incident_id}/assessment").json()["open"]["id"]
    first = officer_api("POST", f"/incidents/assessments/{draft_id}/sign")
    second = officer_api("POST", f"/incidents/assessments/{draft_id}/sign")
    version = officer_api("POST", f"/incidents/{incident_id}/assessment/versions")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["signed_at"] == second.json()["signed_at"]
    assert _events(EventCode.INCIDENT_ASSESSMENT_SIGNED) == 1
    assert version.status_code == 201
    assert (version.json()["version"], version.json()["is_signed"]) == (2, False)
    state = officer_api("GET", f"/incidents/{incident_id}/assessment").json()
    assert (state["in_force"]["version"], state["open"]["version"]) == (1, 2)
    assert not Notice.objects.exists()  # not a breach: nothing to notify
