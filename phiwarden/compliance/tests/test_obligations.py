"""Open obligations from every module, on the dashboard, the calendar and the API."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client as HttpClient
from django.urls import reverse

from phiwarden.accounts.models import Organization
from phiwarden.accounts.services import api_token_create
from phiwarden.compliance.selectors import obligation_calendar
from phiwarden.core.obligations import Obligation, Urgency, obligation_provider, open_obligations

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)


def _obligation(day: dt.date, title: str = "Renew the BAA") -> Obligation:
    return Obligation(kind="test", title=title, due_on=day, url="/", citation="45 CFR 164.504(e)")


def test_urgency_is_overdue_due_soon_or_upcoming():
    today = dt.date(2026, 11, 27)

    assert _obligation(dt.date(2026, 11, 26)).urgency(today) == Urgency.OVERDUE
    assert _obligation(today).urgency(today) == Urgency.DUE_SOON
    assert _obligation(dt.date(2026, 12, 11)).urgency(today) == Urgency.DUE_SOON
    assert _obligation(dt.date(2026, 12, 12)).urgency(today) == Urgency.UPCOMING


def test_a_provider_name_cannot_be_taken_twice():
    def first(organization: object) -> list[Obligation]:
        return []

    obligation_provider("test.unique")(first)
    obligation_provider("test.unique")(first)  # the same function again is harmless
    with pytest.raises(ValueError, match="already registered"):
        obligation_provider("test.unique")(lambda organization: [])


def test_the_calendar_places_each_obligation_on_its_day():
    due = [_obligation(dt.date(2026, 12, 24)), _obligation(dt.date(2027, 1, 4), "Review")]

    months = obligation_calendar(due, dt.date(2026, 11, 27), months=3)

    assert [m.first for m in months] == [
        dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1),
    ]  # fmt: skip
    placed = {
        (cell.day, o.title)
        for month in months
        for week in month.weeks
        for cell in week
        if cell.in_month
        for o in cell.obligations
    }
    assert placed == {(dt.date(2026, 12, 24), "Renew the BAA"), (dt.date(2027, 1, 4), "Review")}
    assert all(len(week) == 7 and week[0].day.weekday() == 0 for m in months for week in m.weeks)


def _joined_in_september(organization: Organization) -> None:
    Organization.objects.filter(pk=organization.pk).update(
        created_at=dt.datetime(2026, 9, 10, tzinfo=dt.UTC)
    )
    organization.refresh_from_db()


@time_machine.travel(NOW, tick=False)
def test_overdue_reviews_show_on_the_dashboard_the_page_and_the_api(
    organization, privacy_officer, login_client
):
    _joined_in_september(organization)
    titles = [o.title for o in open_obligations(organization)]
    assert "Review the audit trail: September 2026" in titles
    client = login_client(privacy_officer)

    dashboard = client.get(reverse("compliance:dashboard", args=[organization.slug]))
    page = client.get(reverse("compliance:obligations", args=[organization.slug]))
    _, raw = api_token_create(
        actor=privacy_officer, name="obligations", scopes=["compliance.view_checklist"], days=1
    )
    api = HttpClient().get("/api/v1/obligations", headers={"Authorization": f"Bearer {raw}"})

    assert "Review the audit trail: September 2026" in dashboard.content.decode()
    assert "Overdue" in page.content.decode()
    assert api.status_code == 200
    by_title = {o["title"]: o for o in api.json()}
    assert by_title["Review the audit trail: September 2026"]["urgency"] == "overdue"
    assert by_title["Review the audit trail: September 2026"]["due_on"] == "2026-10-07"
