"""Open export requests as obligations for privacy officers (core.obligations).

A large export waits for a second person (45 CFR 164.312(b), 164.502(b)); until someone
decides, it shows on the compliance calendar, due the day after it was asked for.
"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse

from phiwarden.accounts.models import Organization
from phiwarden.billing.models import ExportRequest
from phiwarden.core.obligations import Obligation, obligation_provider

DECIDE_WITHIN_DAYS = 1


@obligation_provider("billing.exports")
def export_request_obligations(organization: Organization) -> list[Obligation]:
    pending = (
        ExportRequest.objects.for_organization(organization)
        .filter(state=ExportRequest.State.REQUESTED)
        .order_by("created_at")
    )
    url = reverse("billing:export-request-list", kwargs={"org_slug": organization.slug})
    return [
        Obligation(
            kind="billing.export_request",
            title=f"Decide on export request #{r.pk} ({r.rows_requested} rows)",
            due_on=r.created_at.date() + timedelta(days=DECIDE_WITHIN_DAYS),
            url=url,
            citation="45 CFR 164.312(b), 164.502(b)",
            owner="Privacy officer",
        )
        for r in pending
    ]
