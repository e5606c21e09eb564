"""Fail closed: when the audit trail cannot record a read, the read returns nothing.

The database itself is made to refuse new audit events (a trigger, as a full disk or a
revoked grant would), rather than our code being mocked: the writer, the views and the
API run as they do in production.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse

from phiwarden.accounts.services import api_token_create
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.core.errors import AuditUnavailable

pytestmark = pytest.mark.django_db

SECRET_MARK = "fail-closed-target-7731"


@pytest.fixture
def audit_store_broken() -> None:
    """From now on, inserting an audit event fails inside the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_audit_broken() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file: No space left on device'; END "
                "$$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER test_audit_broken BEFORE INSERT ON audit_auditevent "
                "FOR EACH ROW EXECUTE FUNCTION test_audit_broken()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_audit_broken BEFORE INSERT ON audit_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
    # The test's transaction rolls the trigger back.


@pytest.fixture
def earlier_event(organization, biller):
    """Something in the log that a search would reveal."""
    return audit_event_record(
        actor=biller.user,
        organization=organization,
        event_code=EventCode.LOGGED_OUT,
        target_type="accounts.client",
        target_id=SECRET_MARK,
        patient_ids=[987654],
    )


def test_the_writer_raises_audit_unavailable_when_the_database_refuses(
    organization, biller, audit_store_broken
):
    with pytest.raises(AuditUnavailable):
        audit_event_record(
            actor=biller.user, organization=organization, event_code=EventCode.LOGGED_OUT
        )


@pytest.fixture
def officer_token(privacy_officer) -> str:
    _, raw = api_token_create(
        actor=privacy_officer, name="fail-closed", scopes=["audit.view"], days=1
    )
    return raw


def test_an_api_search_returns_no_events_when_it_cannot_be_recorded(
    officer_token, earlier_event, audit_store_broken
):
    raw = officer_token
    response = HttpClient().get("/api/v1/audit/events", headers={"Authorization": f"Bearer {raw}"})

    assert response.status_code == 503
    assert response.json() == {"detail": AuditUnavailable.message}
    body = response.content.decode()
    assert SECRET_MARK not in body
    assert "987654" not in body


@pytest.fixture
def officer_browser(login_client, privacy_officer) -> HttpClient:
    client: HttpClient = login_client(privacy_officer)  # signing in is audited too
    return client


def test_the_audit_page_shows_nothing_when_its_search_cannot_be_recorded(
    officer_browser, organization, earlier_event, audit_store_broken
):
    client = officer_browser

    response = client.get(reverse("audit:event-list", kwargs={"org_slug": organization.slug}))

    assert response.status_code == 503
    body = response.content.decode()
    assert "Audit trail unavailable" in body
    assert SECRET_MARK not in body
    assert "987654" not in body
