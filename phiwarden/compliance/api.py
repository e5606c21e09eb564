from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from phiwarden.accounts.api_auth import token_require
from phiwarden.accounts.roles import Capability
from phiwarden.compliance.registry import ItemResult
from phiwarden.compliance.schemas import ChecklistItemOut, EvidenceLinkOut
from phiwarden.compliance.selectors import checklist_for_user

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
