from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from phiwarden.accounts.api_auth import token_require
from phiwarden.accounts.roles import Capability
from phiwarden.compliance.registry import ItemResult
from phiwarden.compliance.schemas import ChecklistItemOut, EvidenceLinkOut, ObligationOut
from phiwarden.compliance.selectors import checklist_for_user, obligations_for_user

router = Router(tags=["compliance"])


def checklist_item_out(result: ItemResult) -> ChecklistItemOut:
    return ChecklistItemOut(
        id=result.item.id,
        area=result.item.area,
        title=result.item.title,
        status=result.evidence.status.value,
        summary=result.evidence.summary,
        facts=result.evidence.facts,
        links=[EvidenceLinkOut(label=link.label, url=link.url) for link in result.evidence.links],
    )


@router.get("/checklist", response=list[ChecklistItemOut])
def checklist(request: HttpRequest) -> list[ChecklistItemOut]:
    token = token_require(request, Capability.CHECKLIST_VIEW)
    return [checklist_item_out(r) for r in checklist_for_user(membership=token.membership)]


@router.get("/obligations", response=list[ObligationOut])
def obligations(request: HttpRequest) -> list[ObligationOut]:
    token = token_require(request, Capability.CHECKLIST_VIEW)
    today = timezone.localdate()
    return [
        ObligationOut(
            kind=o.kind,
            title=o.title,
            due_on=o.due_on,
            urgency=o.urgency(today).value,
            url=o.url,
            citation=o.citation,
            owner=o.owner,
        )
        for o in obligations_for_user(membership=token.membership)
    ]
