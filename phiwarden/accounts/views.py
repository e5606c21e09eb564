"""HTML views for people, roles, sessions, invitations and API tokens (thin: forms → services)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from phiwarden.accounts import selectors, services
from phiwarden.accounts.forms import (
    ApiTokenForm,
    InvitationAcceptForm,
    InvitationForm,
    MemberAccessForm,
    SecuritySettingsForm,
)
from phiwarden.accounts.http import (
    AuthenticatedRequest,
    OrgRequest,
    org_view,
    reauthentication_required,
)
from phiwarden.accounts.mfa import has_second_factor, users_with_mfa
from phiwarden.accounts.models import User
from phiwarden.accounts.roles import Capability
from phiwarden.core.forms import errors_to_form


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("account_login")
    assert isinstance(request.user, User)  # noqa: S101
    memberships = list(selectors.organizations_for_user(user=request.user))
    if len(memberships) >= 1:
        return redirect("compliance:dashboard", org_slug=memberships[0].organization.slug)
    return render(request, "accounts/no_organization.html")


# --- Members -------------------------------------------------------------


@org_view(Capability.MEMBERS_VIEW)
def member_list(request: OrgRequest) -> HttpResponse:
    memberships = selectors.memberships_list_for_user(membership=request.membership)
    can_manage = request.membership.can(Capability.MEMBERS_MANAGE)
    return render(
        request,
        "accounts/member_list.html",
        {
            "memberships": memberships,
            "mfa_user_ids": users_with_mfa(request.membership.organization),
            "invitations": (
                selectors.invitations_pending_for_user(membership=request.membership)
                if can_manage
                else []
            ),
            "can_manage": can_manage,
        },
    )


@org_view(Capability.MEMBERS_MANAGE)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def invitation_create(request: OrgRequest) -> HttpResponse:
    form = InvitationForm(request.POST or None, actor=request.membership)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                actor=request.membership,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, "Invitation sent. The link works once and expires.")
            return redirect("accounts:member-list", org_slug=request.membership.organization.slug)
    return render(request, "accounts/invitation_form.html", {"form": form})


@org_view(Capability.MEMBERS_MANAGE)
@require_POST
def invitation_revoke(request: OrgRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.invitation_get_for_manager(
        membership=request.membership, invitation_id=invitation_id
    )
    services.invitation_revoke(actor=request.membership, invitation=invitation)
    messages.success(request, "Invitation revoked.")
    return redirect("accounts:member-list", org_slug=request.membership.organization.slug)


@org_view(Capability.MEMBERS_MANAGE)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def member_edit(request: OrgRequest, member_id: int) -> HttpResponse:
    member = selectors.membership_get_for_manager(
        membership=request.membership, member_id=member_id
    )
    initial = {"role": member.role, "clients": list(member.clients.all())}
    form = MemberAccessForm(request.POST or None, actor=request.membership, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_change_role(
                actor=request.membership, membership=member, role=form.cleaned_data["role"]
            )
            services.membership_set_clients(
                actor=request.membership, membership=member, clients=form.cleaned_data["clients"]
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, "Access updated. The member's sessions were ended.")
            return redirect("accounts:member-list", org_slug=request.membership.organization.slug)
    return render(request, "accounts/member_edit.html", {"member": member, "form": form})


@org_view(Capability.MEMBERS_MANAGE)
@reauthentication_required
@require_POST
def member_deactivate(request: OrgRequest, member_id: int) -> HttpResponse:
    member = selectors.membership_get_for_manager(
        membership=request.membership, member_id=member_id
    )
    try:
        services.membership_deactivate(actor=request.membership, membership=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Member deactivated; their sessions and API tokens ended.")
    return redirect("accounts:member-list", org_slug=request.membership.organization.slug)


@org_view(Capability.MEMBERS_MANAGE)
@reauthentication_required
@require_POST
def member_reactivate(request: OrgRequest, member_id: int) -> HttpResponse:
    member = selectors.membership_get_for_manager(
        membership=request.membership, member_id=member_id
    )
    services.membership_reactivate(actor=request.membership, membership=member)
    messages.success(request, "Member reactivated.")
    return redirect("accounts:member-list", org_slug=request.membership.organization.slug)


# --- Organization security settings -------------------------------------


@org_view(Capability.SECURITY_SETTINGS_MANAGE)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def security_settings(request: OrgRequest) -> HttpResponse:
    organization = request.membership.organization
    form = SecuritySettingsForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_security_update(
                actor=request.membership,
                mfa_required=form.cleaned_data["mfa_required"],
                idle_timeout_minutes=form.cleaned_data["idle_timeout_minutes"],
                session_max_age_hours=form.cleaned_data["session_max_age_hours"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, "Security settings saved.")
            return redirect("accounts:security-settings", org_slug=organization.slug)
    else:
        organization.refresh_from_db()
        form = SecuritySettingsForm(request.POST or None, instance=organization)
    return render(request, "accounts/security_settings.html", {"form": form})


# --- API tokens ----------------------------------------------------------


@org_view(Capability.API_TOKENS_USE)
def api_token_list(request: OrgRequest) -> HttpResponse:
    tokens = selectors.api_tokens_list_for_user(membership=request.membership)
    return render(request, "accounts/api_token_list.html", {"tokens": tokens})


@org_view(Capability.API_TOKENS_USE)
@reauthentication_required
@require_http_methods(["GET", "POST"])
def api_token_create(request: OrgRequest) -> HttpResponse:
    form = ApiTokenForm(
        request.POST or None, actor=request.membership, max_days=settings.API_TOKEN_MAX_DAYS
    )
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.api_token_create(
                actor=request.membership,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                days=form.cleaned_data["days"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            # Shown once, in this response only; never stored or put in a URL.
            response = render(
                request, "accounts/api_token_created.html", {"token": token, "raw": raw}
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "accounts/api_token_form.html", {"form": form})


@org_view(Capability.API_TOKENS_USE)
@require_POST
def api_token_revoke(request: OrgRequest, token_id: int) -> HttpResponse:
    token = selectors.api_token_get_for_user(membership=request.membership, token_id=token_id)
    services.api_token_revoke(actor=request.membership, token=token)
    messages.success(request, "Token revoked.")
    return redirect("accounts:api-token-list", org_slug=request.membership.organization.slug)


# --- The signed-in person ------------------------------------------------


@login_required
def account_security(request: AuthenticatedRequest) -> HttpResponse:
    return render(
        request,
        "accounts/account_security.html",
        {"has_second_factor": has_second_factor(request.user)},
    )


@login_required
@require_POST
def sessions_end_all(request: AuthenticatedRequest) -> HttpResponse:
    services.user_sessions_end(actor=request.user, user=request.user, organization=None)
    return HttpResponseRedirect(reverse("account_login"))


# --- Invitations (the one page a person sees before having an account) ---


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_find(token=token)
    except services.InvitationInvalid:
        return render(request, "accounts/invitation_invalid.html", status=404)
    user = request.user if isinstance(request.user, User) else None
    if user is None and User.objects.filter(email=invitation.email).exists():
        messages.info(request, "Sign in with the invited address, then open the link again.")
        return redirect(f"{reverse('account_login')}?next={request.path}")
    form = None if user is not None else InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            membership = services.invitation_accept(
                token=token,
                user=user,
                full_name=form.cleaned_data["full_name"] if form else "",
                password=form.cleaned_data["password"] if form else "",
            )
        except services.InvitationInvalid:
            return render(request, "accounts/invitation_invalid.html", status=404)
        except ValidationError as error:
            if form is None:
                messages.error(request, " ".join(error.messages))
            else:
                form.add_error("password", error.messages)
        else:
            if user is None:
                login(request, membership.user, backend=settings.AUTHENTICATION_BACKENDS[0])
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect("compliance:dashboard", org_slug=membership.organization.slug)
    return render(
        request, "accounts/invitation_accept.html", {"invitation": invitation, "form": form}
    )
