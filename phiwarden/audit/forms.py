"""Forms of the audit pages: the search filters and the review sign-off."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django import forms

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Capability
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.models import AuditReview, ReviewCadence
from phiwarden.audit.selectors import AuditFilters

PURPOSES = [
    ("", "Any purpose"),
    ("payment", "Payment"),
    ("operations", "Health care operations"),
    ("individual", "Disclosure to the individual"),
    ("required_by_law", "Required by law"),
    ("authorized", "Authorized by the individual"),
]


def _day_start(day: Any) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


class AuditFilterForm(forms.Form):
    """Every filter is optional; dates are whole days in UTC, `until` inclusive."""

    actor_id = forms.TypedChoiceField(label="Member", required=False, coerce=int, empty_value=None)
    client_id = forms.TypedChoiceField(label="Client", required=False, coerce=int, empty_value=None)
    patient_id = forms.IntegerField(
        label="Patient id",
        required=False,
        min_value=1,
        help_text="The patient's record number in PHI Warden (officers only).",
    )
    event_code = forms.ChoiceField(
        label="Event", required=False, choices=[("", "Any event"), *EventCode.choices]
    )
    purpose = forms.ChoiceField(label="Purpose", required=False, choices=PURPOSES)
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any outcome"), *Outcome.choices]
    )
    since = forms.DateField(
        label="From (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To (UTC, inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = membership.organization
        members = (
            Membership.objects.for_organization(organization)
            .select_related("user")
            .order_by("user__email")
        )
        self.fields["actor_id"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone"),
            *((m.user_id, m.user.full_name or m.user.email) for m in members),
        ]
        self.fields["client_id"].choices = [  # type: ignore[attr-defined]
            ("", "Any client"),
            *Client.objects.for_organization(organization)
            .order_by("name")
            .values_list("pk", "name"),
        ]
        if not membership.can(Capability.AUDIT_VIEW_PATIENT_IDS):
            del self.fields["patient_id"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        end = _day_start(data.get("until"))
        return AuditFilters(
            actor_id=data.get("actor_id"),
            client_id=data.get("client_id"),
            patient_id=data.get("patient_id"),
            event_code=data.get("event_code") or "",
            purpose=data.get("purpose") or "",
            outcome=data.get("outcome") or "",
            since=_day_start(data.get("since")),
            until=end + timedelta(days=1) if end else None,
        )


class ReviewCadenceForm(forms.Form):
    cadence = forms.ChoiceField(
        choices=ReviewCadence.choices,
        help_text="How often the audit trail is reviewed (45 CFR 164.308(a)(1)(ii)(D)).",
    )


class ReviewSignForm(forms.ModelForm[AuditReview]):
    class Meta:
        model = AuditReview
        fields = ["finding", "notes"]
        labels = {"finding": "What the review found", "notes": "Notes"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 5})}
        help_texts = {
            "notes": "What you looked at and what you concluded. Name no patient here: "
            "refer to events by their number.",
        }
