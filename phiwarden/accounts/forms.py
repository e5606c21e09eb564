from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts

from phiwarden.accounts.models import Client, Membership, Organization
from phiwarden.accounts.roles import ROLES_ONLY_OWNERS_GRANT, Capability, Role


def _grantable_roles(actor: Membership) -> list[tuple[str, str]]:
    return [
        (value, label)
        for value, label in Role.choices
        if actor.role == Role.OWNER or value not in ROLES_ONLY_OWNERS_GRANT
    ]


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _grantable_roles(actor)  # type: ignore[attr-defined]


class MemberAccessForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    clients = forms.ModelMultipleChoiceField(
        queryset=Client.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Clients whose records this member may reach (officers and owners reach all).",
    )

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _grantable_roles(actor)  # type: ignore[attr-defined]
        self.fields["clients"].queryset = Client.objects.for_organization(  # type: ignore[attr-defined]
            actor.organization
        ).filter(is_active=True)


class SecuritySettingsForm(forms.ModelForm[Organization]):
    class Meta:
        model = Organization
        fields = ["mfa_required", "idle_timeout_minutes", "session_max_age_hours"]
        labels = {
            "mfa_required": "Require two-factor authentication for every member",
            "idle_timeout_minutes": "Sign out after this many idle minutes",
            "session_max_age_hours": "End every session after this many hours",
        }


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'nightly export'."
    )
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, choices=[])
    days = forms.IntegerField(min_value=1, initial=90, label="Valid for (days)")

    def __init__(self, *args: Any, actor: Membership, max_days: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = sorted(  # type: ignore[attr-defined]
            (c.value, c.value) for c in actor.capabilities if c != Capability.API_TOKENS_USE
        )
        self.fields["days"].max_value = max_days  # type: ignore[attr-defined]
        self.fields["days"].widget.attrs["max"] = max_days


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(max_length=200, label="Your full name")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=" ".join(password_validators_help_texts()),
    )
    password_again = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="Password (again)",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data
