from __future__ import annotations

from datetime import datetime

from ninja import Schema


class MeOut(Schema):
    email: str
    organization: str
    organization_name: str
    role: str
    token_name: str
    token_expires_at: datetime
    capabilities: list[str]


class MemberOut(Schema):
    id: int
    email: str
    full_name: str
    role: str
    is_active: bool
    has_mfa: bool
    client_ids: list[int]
