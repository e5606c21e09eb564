from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from phiwarden.accounts.models import User
from phiwarden.accounts.selectors import organizations_for_user


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The organizations a signed-in user can switch between, for the top navigation."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {}
    return {"nav_memberships": list(organizations_for_user(user=user))}
