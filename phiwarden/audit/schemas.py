from __future__ import annotations

from datetime import date, datetime

from ninja import Schema


class AuditEventOut(Schema):
    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_label: str
    event_code: str
    outcome: str
    target_type: str
    target_id: str
    purpose: str
    request_id: str
    ip_address: str | None
    via: str
    data: dict[str, object]
    fields_disclosed: list[str]
    patient_ids: list[int] | None  # None: the caller may not see patient ids


class AuditPageOut(Schema):
    events: list[AuditEventOut]
    next_cursor: str | None


class InclusionProofOut(Schema):
    event_id: int
    sequence: int
    leaf_hash: str
    tree_size: int
    root: str
    path: list[str]


class ConsistencyProofOut(Schema):
    old_size: int
    old_root: str
    new_size: int
    new_root: str
    path: list[str]


class TreeHeadOut(Schema):
    log: int
    tree_size: int
    root: str
    issued_at: str
    key_id: str
    signature: str


class ReviewPeriodOut(Schema):
    period: str
    start: date
    end: date
    due_on: date
    status: str  # signed, due, overdue
    reviewer: str | None
    signed_at: datetime | None
    finding: str | None


class MemberActivityOut(Schema):
    actor_id: int
    label: str
    events: int
    patient_reads: int
    denied: int
    after_hours: int
    exports: int
    top_patients: list[list[int]] | None  # [patient id, events]; None without the capability


class ReviewSummaryOut(Schema):
    period: str
    events: int
    logins: int
    login_failures: int
    exports: int
    denied: int
    after_hours: int
    unsealed: int
    members: list[MemberActivityOut]


class ReviewSignIn(Schema):
    finding: str
    notes: str
