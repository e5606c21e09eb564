"""Obligations of the incidents app: assessments due on the earliest client deadline (or 60
days after discovery), every unsent notice of a breach, every unverified corrective action.
Rows are made directly, so each due date is a known answer; time is frozen."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from phiwarden.accounts.models import Membership
from phiwarden.core.obligations import Urgency, open_obligations, provider_names
from phiwarden.incidents.models import (
    Assessment,
    CorrectiveAction,
    Incident,
    Notice,
)
from phiwarden.incidents.obligations import incident_obligations
from phiwarden.incidents.tests.factories import (
    make_incident,
    notice,
    scoping,
    sign,
)
from phiwarden.partners.tests.factories import sign_baa

pytestmark = pytest.mark.django_db
D = dt.date
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
PATIENT_NAME = "Synthetic Patient Pat Example"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def by_kind(officer: Membership, kind: str):
    return [o for o in incident_obligations(officer.organization) if o.kind == kind]


def test_the_provider_is_registered_and_reaches_the_shared_list(privacy_officer):
    assert "incidents" in provider_names()
    make_incident(privacy_officer)
    titles = [o.title for o in open_obligations(privacy_officer.organization)]
    assert "Assess incident INC-2026-0001" in titles


def test_an_unassessed_incident_without_clients_is_due_sixty_days_after_discovery(
    privacy_officer,
):
    incident = make_incident(privacy_officer)
    [obligation] = by_kind(privacy_officer, "incidents.assessment")
    assert obligation.due_on == D(2026, 12, 19)  # 20 October + 60 days
    assert obligation.citation == "45 CFR 164.402(2), 164.410(b)"
    assert obligation.owner == "Privacy officer"
    assert obligation.url == f"/o/{privacy_officer.organization.slug}/incidents/{incident.pk}/"
    assert obligation.urgency(TODAY) is Urgency.UPCOMING


def test_the_assessment_is_due_on_the_earliest_client_deadline(privacy_officer, clients):
    # Client 0's BAA: notice within 10 business days; client 1 has the 60-day default.
    sign_baa(
        privacy_officer,
        client=clients[0],
        expires_on=None,
        notice_window_days=10,
        notice_window_kind="business",
    )
    make_incident(privacy_officer, clients=clients)
    [obligation] = by_kind(privacy_officer, "incidents.assessment")
    assert obligation.due_on == D(2026, 11, 3)  # 10 business days after Tuesday 20 October
    assert obligation.urgency(TODAY) is Urgency.OVERDUE


def test_a_law_enforcement_delay_moves_the_assessment_date(privacy_officer):
    make_incident(
        privacy_officer,
        delay_kind="written",
        delay_stated_on=D(2026, 12, 1),
        delay_until=D(2027, 1, 31),
    )
    [obligation] = by_kind(privacy_officer, "incidents.assessment")
    assert obligation.due_on == D(2027, 1, 31)


def test_a_signed_assessment_or_a_closed_incident_owes_no_assessment(privacy_officer):
    signed = make_incident(privacy_officer, 1)
    sign(privacy_officer, signed, Assessment.Decision.LOW_PROBABILITY)
    draft_only = make_incident(privacy_officer, 2)
    sign(privacy_officer, draft_only, "", signed=False)
    make_incident(privacy_officer, 3, status=Incident.Status.CLOSED)
    titles = [o.title for o in by_kind(privacy_officer, "incidents.assessment")]
    assert titles == ["Assess incident INC-2026-0002"]


def test_every_unsent_notice_of_a_breach_is_an_obligation(privacy_officer, clients):
    incident = make_incident(privacy_officer, clients=clients, status=Incident.Status.ASSESSED)
    run = scoping(privacy_officer, incident, clients)
    breach = sign(privacy_officer, incident, Assessment.Decision.BREACH, run=run)
    R = Notice.Recipient
    notice(privacy_officer, breach, clients[0], R.CLIENT, D(2026, 11, 3), "45 CFR 164.410(b)")
    notice(
        privacy_officer, breach, clients[1], R.CLIENT, D(2026, 12, 19), "45 CFR 164.410(b)",
        sent=True,
    )  # fmt: skip
    notice(privacy_officer, breach, clients[0], R.INDIVIDUALS, D(2027, 1, 2), "45 CFR 164.404(b)")
    notice(privacy_officer, breach, clients[0], R.HHS, D(2027, 3, 1), "45 CFR 164.408(c)")
    notice(privacy_officer, breach, clients[1], R.HHS, D(2027, 2, 17), "45 CFR 164.408(b)")
    notice(
        privacy_officer, breach, clients[0], R.MEDIA, D(2027, 1, 2), "45 CFR 164.406(b)",
        state="TX",
    )  # fmt: skip
    found = {
        (o.title, o.due_on, o.citation, o.owner)
        for o in incident_obligations(privacy_officer.organization)
        if o.kind.startswith("incidents.notice")
    }
    practice, ortho = (c.name for c in clients)
    assert found == {
        (
            f"Notify {practice} of INC-2026-0001",
            D(2026, 11, 3),
            "45 CFR 164.410(b)",
            "Privacy officer",
        ),
        (
            f"Client {practice} must notify individuals of INC-2026-0001",
            D(2027, 1, 2),
            "45 CFR 164.404(b)",
            f"{practice} (tracked for the client)",
        ),
        (
            f"Client {practice} must report INC-2026-0001 to HHS (yearly breach log)",
            D(2027, 3, 1),
            "45 CFR 164.408(c)",
            f"{practice} (tracked for the client)",
        ),
        (
            f"Client {ortho} must notify HHS of INC-2026-0001",
            D(2027, 2, 17),
            "45 CFR 164.408(b)",
            f"{ortho} (tracked for the client)",
        ),
        (
            f"Client {practice} must notify media in TX of INC-2026-0001",
            D(2027, 1, 2),
            "45 CFR 164.406(b)",
            f"{practice} (tracked for the client)",
        ),
    }
    kinds = {o.kind for o in incident_obligations(privacy_officer.organization)}
    assert {"incidents.notice_client", "incidents.notice_hhs", "incidents.notice_media"} <= kinds


def test_notices_drop_out_when_a_newer_version_is_not_a_breach(privacy_officer, clients):
    incident = make_incident(privacy_officer, clients=clients[:1])
    run = scoping(privacy_officer, incident, clients[:1])
    breach = sign(privacy_officer, incident, Assessment.Decision.BREACH, run=run)
    notice(
        privacy_officer, breach, clients[0], Notice.Recipient.CLIENT, D(2026, 12, 19),
        "45 CFR 164.410(b)",
    )  # fmt: skip
    assert len(by_kind(privacy_officer, "incidents.notice_client")) == 1
    sign(privacy_officer, incident, Assessment.Decision.LOW_PROBABILITY, version=2, run=run)
    assert by_kind(privacy_officer, "incidents.notice_client") == []


def test_unverified_corrective_actions_are_due_on_their_date(privacy_officer, owner):
    incident = make_incident(privacy_officer)
    sign(privacy_officer, incident, Assessment.Decision.LOW_PROBABILITY)

    def action(description: str, due_on: dt.date, *, done: bool, verified: bool) -> None:
        CorrectiveAction.objects.create(
            organization=privacy_officer.organization,
            incident=incident,
            description=description,
            owner=owner.user,
            due_on=due_on,
            done_at=timezone.now() if done else None,
            verified_at=timezone.now() if verified else None,
        )

    action("Quarterly access review of A/R staff", D(2026, 11, 20), done=False, verified=False)
    action("Retrain the A/R team", D(2026, 12, 5), done=True, verified=False)
    action("Remove the shared login", D(2026, 11, 1), done=True, verified=True)
    found = [
        (o.title, o.due_on, o.owner, o.urgency(TODAY))
        for o in by_kind(privacy_officer, "incidents.corrective_action")
    ]
    assert sorted(found) == [
        (
            "Complete the corrective action of INC-2026-0001: Quarterly access review of A/R staff",
            D(2026, 11, 20),
            owner.user.full_name or owner.user.email,
            Urgency.OVERDUE,
        ),
        (
            "Verify the corrective action of INC-2026-0001: Retrain the A/R team",
            D(2026, 12, 5),
            "Privacy officer",
            Urgency.DUE_SOON,
        ),
    ]


def test_obligations_name_no_patient_and_stay_in_their_organization(
    privacy_officer, clients, make_member
):
    from phiwarden.accounts.models import Organization
    from phiwarden.accounts.roles import Role

    make_incident(privacy_officer, clients=clients, description_ct=PATIENT_NAME.encode())
    other_org = Organization.objects.create(name="Other Synthetic", slug="other-synthetic")
    stranger = make_member(Role.PRIVACY_OFFICER, email="po@other.test", org=other_org)
    assert incident_obligations(stranger.organization) == []
    for obligation in incident_obligations(privacy_officer.organization):
        assert "Pat Example" not in f"{obligation.title} {obligation.owner} {obligation.url}"
