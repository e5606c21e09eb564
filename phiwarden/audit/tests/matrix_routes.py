"""The audit pages and API in the authorization matrix (see core/tests/matrix.py)."""

from __future__ import annotations

from django.db import models

from phiwarden.accounts.roles import Capability
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditReview, AuditReviewSchedule
from phiwarden.core.tests.matrix import (
    POST,
    ApiRoute,
    Contribution,
    OrgRoute,
    TenantSeed,
)

C = Capability
# The matrix's clock stands at 2025-03-03: February is a complete period, due for review.
PERIOD = "2025-02"

ORG_ROUTES = {
    "audit:event-list": OrgRoute(C.AUDIT_VIEW),
    "audit:event-export": OrgRoute(
        C.AUDIT_EXPORT,
        POST,
        reauthentication=True,
        form={"outcome": "denied", "with_patient_ids": "on"},
        post_status=(200,),
        allowed_event=EventCode.AUDIT_EXPORTED.value,
    ),
    "audit:review-list": OrgRoute(C.AUDIT_VIEW),
    "audit:review-schedule": OrgRoute(
        C.AUDIT_REVIEW, POST, reauthentication=True, form={"cadence": "weekly"}
    ),
    "audit:review-detail": OrgRoute(C.AUDIT_VIEW),
    "audit:review-sign": OrgRoute(
        C.AUDIT_REVIEW,
        POST,
        reauthentication=True,
        form={"finding": "no_issues", "notes": "Matrix review: nothing anomalous."},
    ),
}

API_ROUTES = {
    "GET /api/v1/audit/reviews": ApiRoute(C.AUDIT_VIEW),
    "GET /api/v1/audit/reviews/{period}/summary": ApiRoute(C.AUDIT_VIEW, tenant_path=False),
    "POST /api/v1/audit/reviews/{period}/sign": ApiRoute(
        C.AUDIT_REVIEW,
        body={"finding": "no_issues", "notes": "Matrix review by API."},
        ok_status=(201,),
        tenant_path=False,
    ),
}

SNAPSHOT_MODELS: dict[type[models.Model], frozenset[str]] = {
    AuditReviewSchedule: frozenset({"changed_at"}),
    AuditReview: frozenset(),
}


def build(seed: TenantSeed) -> Contribution:
    return Contribution(params={"period": PERIOD})
