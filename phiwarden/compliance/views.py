from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from phiwarden.accounts.http import OrgRequest, org_view
from phiwarden.accounts.mfa import users_with_mfa
from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.compliance.items import AREAS
from phiwarden.compliance.selectors import (
    checklist_counts,
    checklist_for_user,
    obligation_calendar,
    obligations_for_user,
)


@org_view(Capability.DASHBOARD_VIEW)
def dashboard(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    context: dict[str, object] = {"organization": membership.organization, "areas": AREAS}
    if membership.can(Capability.MEMBERS_VIEW):
        members = (
            Membership.objects.active()
            .for_organization(membership.organization)
            .select_related("user")
            .order_by("user__email")
        )
        context["members"] = members
        context["mfa_user_ids"] = users_with_mfa(membership.organization)
    if membership.can(Capability.CHECKLIST_VIEW):
        results = checklist_for_user(membership=membership)
        context["checklist"] = results
        context["checklist_counts"] = checklist_counts(results)
        today = timezone.localdate()
        obligations = obligations_for_user(membership=membership)
        context["obligations"] = [(o, o.urgency(today)) for o in obligations[:8]]
        context["obligations_more"] = max(0, len(obligations) - 8)
    return render(request, "compliance/dashboard.html", context)


@org_view(Capability.CHECKLIST_VIEW)
@require_GET
def obligations(request: OrgRequest) -> HttpResponse:
    today = timezone.localdate()
    found = obligations_for_user(membership=request.membership)
    return render(
        request,
        "compliance/obligations.html",
        {
            "today": today,
            "obligations": [(o, o.urgency(today)) for o in found],
            "months": obligation_calendar(found, today),
            "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        },
    )
