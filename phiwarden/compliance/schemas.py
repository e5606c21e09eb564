from __future__ import annotations

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
