from __future__ import annotations

from django.contrib import admin

from phiwarden.accounts.models import ApiToken, Client, Invitation, Membership, Organization, User
from phiwarden.core.admin import ReadOnlyAdmin


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["email", "full_name", "is_active", "is_staff", "locked_until"]
    search_fields = ["email"]
    exclude = ["password"]


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "mfa_required", "idle_timeout_minutes", "is_synthetic"]


@admin.register(Client)
class ClientAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "is_active"]
    list_filter = ["organization"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "role", "is_active"]
    list_filter = ["organization", "role"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["organization", "role", "expires_at", "accepted_at", "revoked_at"]
    exclude = ["token_hash"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "name", "organization", "expires_at", "revoked_at", "last_used_at"]
    exclude = ["secret_hash"]


def _unregister_editable_third_party_models() -> None:
    """Group, allauth's e-mail addresses and authenticators and the task results would be
    editable here without an audit event (e.g. deleting someone's MFA). Operators manage
    none of them through the admin."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Group

    for model in (Group, EmailAddress, Authenticator):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # pragma: no cover - the backend is always installed
        return
    if admin.site.is_registered(DBTaskResult):
        admin.site.unregister(DBTaskResult)


_unregister_editable_third_party_models()
