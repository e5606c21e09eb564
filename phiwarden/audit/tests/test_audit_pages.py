"""The audit page and its CSV export, through the real views (who may reach them is the
authorization matrix's job; this is what they show and record)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from phiwarden.accounts.models import Membership
from phiwarden.accounts.tests.factories import reauthenticate
from phiwarden.audit import selectors
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditEvent
from phiwarden.audit.services import audit_event_record

pytestmark = pytest.mark.django_db


def _signed_in(login_client: Any, membership: Membership) -> HttpClient:
    client: HttpClient = login_client(membership)
    reauthenticate(client)
    return client


def _write(membership, count, *, outcome=Outcome.ALLOWED, target_id="", patients=()):
    for _ in range(count):
        audit_event_record(
            actor=membership.user,
            organization=membership.organization,
            event_code=EventCode.ACCESS_DENIED
            if outcome == Outcome.DENIED
            else EventCode.LOGGED_OUT,
            outcome=outcome,
            target_type="accounts.client" if target_id else "",
            target_id=target_id,
            patient_ids=list(patients),
        )


def _url(name, organization):
    return reverse(name, kwargs={"org_slug": organization.slug})


def _csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_page_lists_events_newest_first_and_pages_with_a_cursor(
    login_client, privacy_officer, biller, organization
):
    _write(biller, 60)
    client = login_client(privacy_officer)

    first = client.get(_url("audit:event-list", organization))

    assert first.status_code == 200
    rows = first.context["rows"]
    assert len(rows) == 50
    assert [e.pk for e, _ in rows] == sorted((e.pk for e, _ in rows), reverse=True)
    assert first.context["next_query"]
    second = client.get(_url("audit:event-list", organization) + "?" + first.context["next_query"])
    older = [e.pk for e, _ in second.context["rows"]]
    assert older
    assert max(older) < min(e.pk for e, _ in rows)


def test_a_search_is_recorded_once_not_per_page(login_client, privacy_officer, organization):
    client = login_client(privacy_officer)
    before = AuditEvent.objects.filter(event_code=EventCode.AUDIT_SEARCHED).count()

    response = client.get(_url("audit:event-list", organization), {"outcome": "denied"})

    assert response.status_code == 200
    searched = AuditEvent.objects.filter(event_code=EventCode.AUDIT_SEARCHED)
    assert searched.count() == before + 1
    assert searched.latest("pk").data == {"patient_filter": False, "results": 0}


def test_filters_narrow_the_list(login_client, privacy_officer, biller, organization):
    _write(biller, 3, outcome=Outcome.DENIED)
    _write(biller, 2)
    client = login_client(privacy_officer)

    response = client.get(
        _url("audit:event-list", organization), {"outcome": "denied", "actor_id": biller.user_id}
    )

    assert {e.outcome for e, _ in response.context["rows"]} == {"denied"}
    assert len(response.context["rows"]) == 3


def test_invalid_filters_say_what_is_wrong_and_list_nothing(
    login_client, privacy_officer, organization
):
    client = login_client(privacy_officer)

    response = client.get(
        _url("audit:event-list", organization), {"since": "2026-02-10", "until": "2026-02-01"}
    )

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "The end date is before the start date." in response.content.decode()


def test_patient_ids_are_shown_to_officers_only(
    login_client, privacy_officer, auditor, biller, organization
):
    _write(biller, 1, patients=[424242])

    officer_page = login_client(privacy_officer).get(_url("audit:event-list", organization))
    auditor_page = login_client(auditor).get(_url("audit:event-list", organization))

    assert "424242" in officer_page.content.decode()
    assert "424242" not in auditor_page.content.decode()
    assert "patient_id" not in auditor_page.context["form"].fields


def test_the_export_is_recorded_before_any_row_leaves(
    login_client, privacy_officer, biller, organization
):
    _write(biller, 4, outcome=Outcome.DENIED, patients=[7, 8])
    client = _signed_in(login_client, privacy_officer)

    response = client.post(
        _url("audit:event-export", organization), {"outcome": "denied", "with_patient_ids": "on"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "no-store"
    exported = AuditEvent.objects.filter(event_code=EventCode.AUDIT_EXPORTED).get()
    assert exported.data == {
        "format": "csv",
        "rows": 4,
        "patient_ids": True,
        "patient_filter": False,
    }
    rows = _csv(response)
    assert len(rows) == 4
    assert {r["patient_ids"] for r in rows} == {"7 8"}
    assert [int(r["event_id"]) for r in rows] == sorted(int(r["event_id"]) for r in rows)


def test_an_export_without_patient_ids_has_no_such_column(
    login_client, privacy_officer, biller, organization
):
    _write(biller, 2, patients=[7])
    client = _signed_in(login_client, privacy_officer)

    response = client.post(_url("audit:event-export", organization), {"outcome": "allowed"})

    rows = _csv(response)
    assert rows
    assert "patient_ids" not in rows[0]
    exported = AuditEvent.objects.filter(event_code=EventCode.AUDIT_EXPORTED).get()
    assert exported.data["patient_ids"] is False


def test_spreadsheet_formulas_in_cells_are_neutralized(
    login_client, privacy_officer, biller, organization
):
    _write(biller, 1, target_id="=HYPERLINK(1)")
    client = _signed_in(login_client, privacy_officer)

    response = client.post(_url("audit:event-export", organization), {"outcome": "allowed"})

    assert "'=HYPERLINK(1)" in [r["target_id"] for r in _csv(response)]


def test_an_oversize_export_is_refused_with_a_reason_and_records_nothing(
    login_client, privacy_officer, biller, organization, monkeypatch
):
    monkeypatch.setattr(selectors, "EXPORT_ROWS_MAX", 3)
    _write(biller, 5)
    client = _signed_in(login_client, privacy_officer)

    response = client.post(_url("audit:event-export", organization), {}, follow=True)

    assert response.status_code == 200
    assert "narrow the filters" in response.content.decode()
    assert not AuditEvent.objects.filter(event_code=EventCode.AUDIT_EXPORTED).exists()
