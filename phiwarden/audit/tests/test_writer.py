"""The one writer: what an event records, and what it refuses before writing anything."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phiwarden.accounts.models import Organization
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent, AuditEventPatient
from phiwarden.audit.services import MAX_DATA_KEYS, MAX_DATA_STRING, AuditDataError
from phiwarden.audit.services import audit_event_record as record

pytestmark = pytest.mark.django_db


def test_an_event_records_who_what_and_which_patients(organization, biller, clients):
    event = record(
        actor=biller.user,
        organization=organization,
        event_code=EventCode.BILLING_PHI_VIEWED,
        target=clients[0],
        purpose="payment",
        api_token_prefix="abc123",
        data={"view": "claim", "ids": [1, 2]},
        patient_ids=[7, 3, 7],
        fields_disclosed=["patient_name", "member_id", "patient_name"],
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.organization_id == organization.pk
    assert stored.actor_id == biller.user.pk
    assert stored.actor_label == biller.user.get_username()
    assert (stored.event_code, stored.outcome) == (EventCode.BILLING_PHI_VIEWED, Outcome.ALLOWED)
    assert (stored.target_type, stored.target_id) == ("accounts.client", str(clients[0].pk))
    assert (stored.purpose, stored.api_token_prefix) == ("payment", "abc123")
    assert stored.data == {"view": "claim", "ids": [1, 2]}
    assert stored.fields_disclosed == ["member_id", "patient_name"]  # sorted, once each
    patients = AuditEventPatient.objects.filter(event=stored)
    assert sorted(patients.values_list("patient_id", flat=True)) == [3, 7]
    assert {p.organization_id for p in patients} == {organization.pk}
    assert event.pk is not None
    assert not event._state.adding


def test_an_anonymous_event_names_no_one(organization):
    event = record(actor=None, organization=None, event_code=EventCode.LOGIN_FAILED)

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_id, stored.actor_label, stored.organization_id) == (None, "", None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"note": {"nested": 1}}, "holds a dict"),
        ({"ids": [1, 2.5]}, "holds a float"),
        ({"name": "x" * (MAX_DATA_STRING + 1)}, "holds a long string"),
        ({f"k{i}": i for i in range(MAX_DATA_KEYS + 1)}, "too many keys"),
    ],
)
def test_data_that_is_not_a_small_mapping_of_identifiers_is_refused(organization, data, message):
    with CaptureQueriesContext(connection) as queries, pytest.raises(AuditDataError, match=message):
        record(actor=None, organization=organization, event_code=EventCode.LOGGED_OUT, data=data)

    assert len(queries) == 0  # refused before any write
    assert not AuditEvent.objects.exists()


def test_patients_without_an_organization_are_refused(db):
    with pytest.raises(AuditDataError, match="needs an organization"):
        record(actor=None, organization=None, event_code=EventCode.LOGGED_OUT, patient_ids=[1])

    assert not AuditEvent.objects.exists()


def test_an_unsaved_organization_or_actor_is_refused_not_recorded_as_no_one(biller):
    unsaved = Organization(name="Never Saved", slug="never-saved")

    with pytest.raises(AuditDataError, match="unsaved Organization"):
        record(actor=biller.user, organization=unsaved, event_code=EventCode.LOGGED_OUT)
    biller.user.pk = None
    with pytest.raises(AuditDataError, match="unsaved User"):
        record(actor=biller.user, organization=None, event_code=EventCode.LOGGED_OUT)

    assert not AuditEvent.objects.exists()


def test_an_event_code_must_be_one_of_the_codes(organization):
    with pytest.raises(AuditDataError, match="EventCode"):
        record(actor=None, organization=organization, event_code="made.up")  # type: ignore[arg-type]
