"""Breach scoping on generated data with known answers: patients touched by several
members, in several states, across two clients; windows, tokens and files."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from phiwarden.accounts.roles import Role
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.billing.models import X12File
from phiwarden.incidents.scoping import ScopeQuery, breach_scope
from phiwarden.incidents.tests.factories import window as _window

pytestmark = pytest.mark.django_db


def test_one_member_over_a_window(world, privacy_officer, clients):
    since, until = _window()

    scope = breach_scope(
        membership=privacy_officer,
        query=ScopeQuery(actor_ids=[world["snoop"].user_id], since=since, until=until),
    )

    expected = {p.pk for p in world["first"][:3]} | {p.pk for p in world["second"][:2]}
    assert scope.patient_ids == expected
    assert scope.individuals == 5
    assert scope.by_client == {clients[0].pk: 3, clients[1].pk: 2}
    assert sum(scope.by_state.values()) == 5
    states = {p.pk: p.state for p in world["first"] + world["second"]}
    assert scope.by_state == {
        s: sum(1 for pk in expected if states[pk] == s) for s in {states[pk] for pk in expected}
    }
    assert scope.phi_classes == {"names", "financial data", "Social Security numbers"}
    assert scope.events == 3


def test_several_members_count_each_patient_once(world, privacy_officer):
    since, until = _window()
    members = [world["snoop"].user_id, world["other"].user_id]

    scope = breach_scope(
        membership=privacy_officer, query=ScopeQuery(actor_ids=members, since=since, until=until)
    )

    assert scope.individuals == 5  # the other member's two are already in the snoop's set
    assert "diagnoses" in scope.phi_classes


def test_an_api_token_alone(world, privacy_officer):
    since, until = _window()

    scope = breach_scope(
        membership=privacy_officer,
        query=ScopeQuery(token_prefixes=["tok123"], since=since, until=until),
    )

    assert scope.patient_ids == {p.pk for p in world["second"][:2]}


def test_a_lost_file_exposes_everyone_in_it(world, privacy_officer, clients):
    lost = X12File.objects.get(client=clients[1])

    scope = breach_scope(membership=privacy_officer, query=ScopeQuery(file_ids=[lost.pk]))

    assert scope.patient_ids == {p.pk for p in world["second"]}
    assert {"names", "dates of birth", "diagnoses"} <= scope.phi_classes


def test_scoping_is_recorded_with_every_patient_in_scope(world, privacy_officer):
    since, until = _window()

    scope = breach_scope(
        membership=privacy_officer,
        query=ScopeQuery(actor_ids=[world["snoop"].user_id], since=since, until=until),
    )

    event = AuditEvent.objects.filter(event_code=EventCode.INCIDENT_SCOPED).get()
    assert set(event.patients.values_list("patient_id", flat=True)) == scope.patient_ids
    assert event.data["individuals"] == 5


def test_scoping_needs_the_incident_capability_and_a_real_question(world, make_member):
    coder = make_member(Role.CODER, email="coder-scope@example.test")
    since, until = _window()

    with pytest.raises(PermissionDenied):
        breach_scope(membership=coder, query=ScopeQuery(actor_ids=[1], since=since, until=until))
    officer = make_member(Role.PRIVACY_OFFICER, email="po-scope@example.test")
    with pytest.raises(ValidationError, match="Name the members"):
        breach_scope(membership=officer, query=ScopeQuery())
    with pytest.raises(ValidationError, match="time window"):
        breach_scope(membership=officer, query=ScopeQuery(actor_ids=[1]))
    with pytest.raises(ValidationError, match="ends before"):
        breach_scope(membership=officer, query=ScopeQuery(actor_ids=[1], since=until, until=since))


def test_another_organizations_events_are_never_in_scope(world, outsider):
    since, until = _window()

    scope = breach_scope(
        membership=outsider,
        query=ScopeQuery(actor_ids=[world["snoop"].user_id], since=since, until=until),
    )

    assert scope.individuals == 0
