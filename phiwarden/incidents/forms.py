"""HTML input for the incidents pages; the services validate again (the API uses them too).

Choices that name the organization's members, vendors, clients and imported files are
passed in by the view, so every list is the member's own organization's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership, Organization
from phiwarden.billing.models import X12File
from phiwarden.incidents.deadlines import DelayKind
from phiwarden.incidents.models import Assessment, Incident, Notice, ScopingRun
from phiwarden.incidents.scoping import ScopeQuery
from phiwarden.incidents.services import ActionData, AssessmentData, IncidentFacts, ReportData
from phiwarden.partners.models import Vendor

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
Choices = list[tuple[Any, str]]


def member_choices(organization: Organization, *, active_only: bool = False) -> Choices:
    """Members by user id (the audit trail names users), labelled by name and e-mail."""
    members = Membership.objects.filter(organization=organization).select_related("user")
    if active_only:
        members = members.active()
    return [
        (m.user_id, f"{m.user.full_name or m.user.email} ({m.user.email}, {m.get_role_display()})")
        for m in members.order_by("user__email")
    ]


def membership_choices(organization: Organization) -> Choices:
    """Active members by membership id, for the one-click containment steps."""
    members = (
        Membership.objects.filter(organization=organization)
        .active()
        .select_related("user")
        .order_by("user__email")
    )
    return [(m.pk, f"{m.user.full_name or m.user.email} ({m.user.email})") for m in members]


def vendor_choices(organization: Organization) -> Choices:
    vendors = Vendor.objects.for_organization(organization).order_by("name")
    return [(v.pk, v.name) for v in vendors]


def client_choices(organization: Organization) -> Choices:
    clients = Client.objects.for_organization(organization).order_by("name")
    return [(c.pk, c.name) for c in clients]


def file_choices(organization: Organization) -> Choices:
    """Imported X12 files by id, kind, client and date received: the file holds PHI, its
    row here does not (no file name is stored or shown)."""
    files = (
        X12File.objects.for_organization(organization)
        .select_related("client")
        .order_by("-created_at", "-pk")[:200]
    )
    return [
        (f.pk, f"File {f.pk} · {f.get_kind_display()} · {f.client.name} · {f.created_at:%Y-%m-%d}")
        for f in files
    ]


def _choices(form: forms.Form, name: str, choices: Choices) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)  # noqa: S101  (declared below)
    field.choices = choices


class ReportForm(forms.Form):
    kind = forms.ChoiceField(choices=Incident.Kind.choices, label="What kind of incident")
    title = forms.CharField(
        max_length=120,
        label="Short label",
        help_text="For example 'Fax sent to the wrong number'. No names or identifiers.",
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        label="What happened",
        help_text="In your own words. This text is encrypted; only officers and you can read it.",
    )
    discovered_on = forms.DateField(widget=DATE, label="When was it discovered")
    discovery_basis = forms.ChoiceField(
        choices=Incident.DiscoveryBasis.choices,
        initial=Incident.DiscoveryBasis.KNOWN,
        widget=forms.RadioSelect,
        label="That date is",
    )
    occurred_on = forms.DateField(widget=DATE, required=False, label="When did it begin (if known)")
    systems = forms.CharField(max_length=300, required=False, label="What systems were involved")
    data_involved = forms.CharField(
        max_length=300,
        required=False,
        label="What data, if known",
        help_text="Kinds of data (names, claims, diagnoses), not the values.",
    )
    vendor = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        label="Vendor (for a vendor incident)",
    )
    clients = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Clients whose data may be involved (if known)",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "vendor", [("", "No vendor"), *vendor_choices(organization)])
        _choices(self, "clients", client_choices(organization))

    def data_object(self) -> ReportData:
        d = self.cleaned_data
        return ReportData(
            kind=d["kind"],
            title=d["title"],
            description=d["description"],
            discovered_on=d["discovered_on"],
            discovery_basis=d["discovery_basis"],
            occurred_on=d["occurred_on"],
            systems=d["systems"],
            data_involved=d["data_involved"],
            vendor_id=d["vendor"],
            client_ids=list(d["clients"]),
        )


class FactsForm(forms.Form):
    kind = forms.ChoiceField(choices=Incident.Kind.choices)
    title = forms.CharField(max_length=120, label="Short label")
    discovered_on = forms.DateField(widget=DATE)
    discovery_basis = forms.ChoiceField(
        choices=Incident.DiscoveryBasis.choices, widget=forms.RadioSelect
    )
    occurred_on = forms.DateField(widget=DATE, required=False, label="Began on")
    ended_on = forms.DateField(widget=DATE, required=False, label="Ended on")
    location = forms.ChoiceField(
        choices=Incident.Location.choices, required=False, label="Location of the information"
    )
    systems = forms.CharField(max_length=300, required=False)
    data_involved = forms.CharField(max_length=300, required=False)
    clients = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    safeguards_before = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Safeguards in place before the incident",
    )
    delay_kind = forms.ChoiceField(
        choices=[("", "No delay"), *((k.value, k.value.title()) for k in DelayKind)],
        required=False,
        label="Law-enforcement delay statement (45 CFR 164.412)",
    )
    delay_stated_on = forms.DateField(widget=DATE, required=False, label="Statement made on")
    delay_until = forms.DateField(widget=DATE, required=False, label="Delay until")
    delay_written_received_on = forms.DateField(
        widget=DATE, required=False, label="Written statement received on"
    )
    delay_agency = forms.CharField(max_length=200, required=False, label="Agency")

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "clients", client_choices(organization))

    @staticmethod
    def initial_for(incident: Incident) -> dict[str, Any]:
        names = [n for n in FactsForm.base_fields if n != "clients"]
        initial = {name: getattr(incident, name) for name in names}
        initial["clients"] = list(incident.clients.values_list("pk", flat=True))
        return initial

    def data_object(self) -> IncidentFacts:
        d = dict(self.cleaned_data)
        d["client_ids"] = list(d.pop("clients"))
        return IncidentFacts(**d)


class StepForm(forms.Form):
    note = forms.CharField(max_length=500, required=False, label="Note")
    membership = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    vendor = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "membership", [("", "Choose a member"), *membership_choices(organization)])
        _choices(self, "vendor", [("", "Choose a vendor"), *vendor_choices(organization)])


class EvidenceForm(forms.Form):
    """The members or API tokens whose activity to preserve, and the window."""

    members = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="Members"
    )
    token_prefixes = forms.CharField(
        max_length=300,
        required=False,
        label="API token prefixes",
        help_text="Separated by spaces, as the audit trail shows them.",
    )
    since = forms.DateTimeField(widget=DATETIME, required=False, label="From")
    until = forms.DateTimeField(widget=DATETIME, required=False, label="Until")

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "members", member_choices(organization))

    def query(self) -> ScopeQuery:
        d = self.cleaned_data
        return ScopeQuery(
            actor_ids=list(d["members"]),
            token_prefixes=str(d["token_prefixes"]).replace(",", " ").split(),
            since=d["since"],
            until=d["until"],
            file_ids=list(d.get("x12_files") or []),
        )


class ScopeForm(EvidenceForm):
    """Members or tokens in a window, or imported files (a misdirected or lost file)."""

    x12_files = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Imported X12 files",
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, organization=organization, **kwargs)
        _choices(self, "x12_files", file_choices(organization))


class AssessmentForm(forms.Form):
    nature_extent = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="(i) Nature and extent of the PHI, identifiers and likelihood of re-identification",
    )
    recipient = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="(ii) Who used the PHI or to whom it was disclosed",
    )
    acquired = forms.ChoiceField(
        choices=Assessment.Acquired.choices,
        label="(iii) Was the PHI actually acquired or viewed",
    )
    acquired_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Notes on (iii)"
    )
    mitigation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="(iv) Extent to which the risk has been mitigated",
    )
    phi_secured = forms.BooleanField(
        required=False,
        label="The PHI was secured (encrypted per HHS guidance, key not compromised, or destroyed)",
    )
    exception = forms.ChoiceField(
        choices=Assessment.Exception_.choices, required=False, label="Exception (164.402(1))"
    )
    decision = forms.ChoiceField(choices=Assessment.Decision.choices, required=False)
    reasons = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Reasons"
    )
    scoping = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Scoping it relies on"
    )

    def __init__(self, *args: Any, scopings: list[ScopingRun], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        runs = [
            (s.pk, f"Scoping {s.pk} of {s.computed_at:%Y-%m-%d %H:%M}: {s.individuals} people")
            for s in scopings
        ]
        _choices(self, "scoping", [("", "None"), *runs])

    @staticmethod
    def initial_for(assessment: Assessment) -> dict[str, Any]:
        names = [n for n in AssessmentForm.base_fields if n != "scoping"]
        initial = {name: getattr(assessment, name) for name in names}
        initial["scoping"] = assessment.scoping_id
        return initial

    def data_object(self) -> AssessmentData:
        d = dict(self.cleaned_data)
        d["scoping_id"] = d.pop("scoping")
        return AssessmentData(**d)


class NoticeChoiceForm(forms.Form):
    notice = forms.TypedChoiceField(coerce=int, widget=forms.HiddenInput)

    def __init__(self, *args: Any, notices: list[Notice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "notice", [(n.pk, str(n.pk)) for n in notices])


class NoticeSentForm(NoticeChoiceForm):
    method = forms.CharField(
        max_length=100, label="Sent by", help_text="E-mail, letter, portal, fax."
    )
    sent_at = forms.DateTimeField(
        widget=DATETIME, required=False, label="Sent at", help_text="Leave empty for now."
    )


class NoticeAckForm(NoticeChoiceForm):
    note = forms.CharField(max_length=300, required=False, label="Acknowledgement note")


class ActionForm(forms.Form):
    description = forms.CharField(max_length=500, label="What will be done")
    owner = forms.TypedChoiceField(coerce=int, label="Owner")
    due_on = forms.DateField(widget=DATE, label="Due on")
    risk_reference = forms.CharField(
        max_length=100, required=False, label="Risk analysis entry (if any)"
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "owner", member_choices(organization, active_only=True))

    def data_object(self) -> ActionData:
        d = self.cleaned_data
        return ActionData(
            description=d["description"],
            owner_id=d["owner"],
            due_on=d["due_on"],
            risk_reference=d["risk_reference"],
        )


class VerifyForm(forms.Form):
    verification = forms.CharField(max_length=500, label="How it was verified")


class CloseForm(forms.Form):
    root_cause = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Root cause")


def current_year() -> int:
    return timezone.localdate().year


class BreachLogExportForm(forms.Form):
    year = forms.IntegerField(min_value=2009, max_value=2100)
    fmt = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")], label="Format")


def parse_year(value: str | None) -> int:
    try:
        year = int(value or "")
    except ValueError:
        return current_year()
    return year if 2009 <= year <= dt.MAXYEAR else current_year()
