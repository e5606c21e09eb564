from __future__ import annotations

from datetime import date

from ninja import Schema


class EvidenceLinkOut(Schema):
    label: str
    url: str


class ChecklistItemOut(Schema):
    id: str
    area: str
    title: str
    status: str
    summary: str
    facts: dict[str, int | float | str | bool]
    links: list[EvidenceLinkOut]


class ObligationOut(Schema):
    kind: str
    title: str
    due_on: date
    urgency: str  # overdue, due_soon, upcoming
    url: str
    citation: str
    owner: str
