"""HTML input for the partners pages; the services validate again (the API uses them too)."""

from __future__ import annotations

from typing import Any

from django import forms

from phiwarden.accounts.models import Client, Membership
from phiwarden.core.clock import DayKind
from phiwarden.partners import diligence
from phiwarden.partners.models import (
    Attestation,
    Baa,
    Channel,
    DiligenceReview,
    PhiClass,
    Stage,
    Vendor,
)
from phiwarden.partners.services import BaaTerms, ClientProfileData, FlowData, VendorData

DATE = forms.DateInput(attrs={"type": "date"})
PHI_CLASSES = forms.MultipleChoiceField(
    choices=PhiClass.choices,
    required=False,
    widget=forms.CheckboxSelectMultiple,
    label="PHI classes",
)


class ClientProfileForm(forms.Form):
    contact_name = forms.CharField(max_length=200, required=False, label="Main contact")
    contact_email = forms.EmailField(required=False, label="Main contact e-mail")
    contact_phone = forms.CharField(max_length=40, required=False, label="Main contact phone")
    privacy_officer_name = forms.CharField(
        max_length=200, required=False, label="Privacy officer (receives breach notices)"
    )
    privacy_officer_email = forms.EmailField(required=False, label="Privacy officer e-mail")
    privacy_officer_phone = forms.CharField(
        max_length=40, required=False, label="Privacy officer phone"
    )
    states_served = forms.CharField(
        max_length=300,
        required=False,
        label="States served",
        help_text="Two-letter codes separated by spaces or commas, e.g. OH KY IN.",
    )

    def data_object(self) -> ClientProfileData:
        data = dict(self.cleaned_data)
        states = str(data.pop("states_served")).replace(",", " ").split()
        return ClientProfileData(**data, states_served=states)


class VendorForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Vendor.Kind.choices)
    services = forms.CharField(max_length=500, required=False, label="Services to us")
    handles_phi = forms.BooleanField(required=False, initial=True, label="Handles our PHI")
    phi_classes = PHI_CLASSES
    risk_tier = forms.ChoiceField(
        choices=Vendor.RiskTier.choices,
        initial=Vendor.RiskTier.HIGH,
        help_text="Sets how often due diligence is repeated: high 12, moderate 24, low 36 months.",
    )
    contact_name = forms.CharField(max_length=200, required=False)
    contact_email = forms.EmailField(required=False)

    def data_object(self) -> VendorData:
        return VendorData(**self.cleaned_data)


class VendorStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Vendor.Status.choices)


class DiligenceForm(forms.Form):
    decision = forms.ChoiceField(choices=DiligenceReview.Decision.choices)
    decided_on = forms.DateField(widget=DATE, label="Decided on")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        answers = [(a.value, a.label) for a in diligence.Answer]
        for question in diligence.QUESTIONS:
            self.fields[f"q_{question.code}"] = forms.ChoiceField(
                choices=answers,
                widget=forms.RadioSelect,
                label=question.text + (" (required)" if question.required else ""),
                help_text=question.citation,
            )
        # The questions first, then the decision.
        self.order_fields([f"q_{q.code}" for q in diligence.QUESTIONS])

    def answers(self) -> dict[str, str]:
        return {q.code: self.cleaned_data[f"q_{q.code}"] for q in diligence.QUESTIONS}


class AttestationForm(forms.Form):
    kind = forms.ChoiceField(choices=Attestation.Kind.choices)
    title = forms.CharField(max_length=200, required=False, help_text="e.g. the report period")
    issued_on = forms.DateField(widget=DATE)
    expires_on = forms.DateField(widget=DATE)
    document = forms.FileField(required=False, help_text="The report or certificate (PDF).")


class BaaForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False)
    vendor = forms.ModelChoiceField(queryset=Vendor.objects.none(), required=False)
    subcontractor_name = forms.CharField(
        max_length=200,
        required=False,
        help_text="Only for a vendor's own subcontractor, as the vendor declared it.",
    )
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in (Baa.Status.DRAFT, Baa.Status.SIGNED)]
    )
    signed_on = forms.DateField(widget=DATE, required=False)
    effective_on = forms.DateField(widget=DATE, required=False)
    expires_on = forms.DateField(widget=DATE, required=False, help_text="Empty: no fixed end.")
    auto_renews = forms.BooleanField(required=False)
    renewal_months = forms.IntegerField(min_value=1, max_value=120, initial=12)
    notice_window_days = forms.IntegerField(
        min_value=0,
        max_value=365,
        initial=60,
        label="Breach and incident notice window (days)",
        help_text=(
            "As the BAA writes it. Deadlines never pass 60 calendar days after discovery "
            "(45 CFR 164.410(b))."
        ),
    )
    notice_window_kind = forms.ChoiceField(choices=[(k.value, k.label) for k in DayKind])
    notice_content = forms.CharField(
        max_length=500, required=False, label="Required notice content"
    )
    notice_channel = forms.CharField(max_length=200, required=False, label="Notice channel")
    permitted_uses = forms.CharField(max_length=500, required=False)
    subcontractor_flow_down = forms.BooleanField(
        required=False, initial=True, label="Subcontractors bound to the same terms"
    )
    return_or_destroy = forms.BooleanField(
        required=False, initial=True, label="Return or destroy PHI at termination"
    )
    offshore_allowed = forms.BooleanField(required=False, label="Offshore work allowed")

    def __init__(
        self, *args: Any, actor: Membership, with_parties: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if with_parties:
            organization = actor.organization
            self.fields["client"].queryset = Client.objects.for_organization(organization)  # type: ignore[attr-defined]
            self.fields["vendor"].queryset = Vendor.objects.for_organization(organization)  # type: ignore[attr-defined]
        else:
            for name in ("client", "vendor", "subcontractor_name"):
                del self.fields[name]

    def terms(self) -> BaaTerms:
        names = BaaTerms.__dataclass_fields__
        return BaaTerms(**{k: v for k, v in self.cleaned_data.items() if k in names})


class BaaTerminateForm(forms.Form):
    terminated_on = forms.DateField(widget=DATE)
    reason = forms.CharField(max_length=500)
    disposition = forms.ChoiceField(choices=Baa.Disposition.choices, label="What became of the PHI")
    disposition_certified_on = forms.DateField(
        widget=DATE, required=False, label="Certificate of return or destruction dated"
    )
    certificate = forms.FileField(
        required=False, label="The certificate (PDF)", help_text="Stored encrypted."
    )


class BaaDocumentForm(forms.Form):
    document = forms.FileField(
        help_text="The signed BAA (PDF). Stored encrypted; each upload is a new version."
    )


class FlowForm(forms.Form):
    stage = forms.ChoiceField(choices=Stage.choices)
    name = forms.CharField(max_length=200, help_text="e.g. 837P claim batches to the clearinghouse")
    source_system = forms.CharField(max_length=200, required=False, label="Source: internal system")
    source_client = forms.ModelChoiceField(
        Client.objects.none(), required=False, label="Source: client"
    )
    source_vendor = forms.ModelChoiceField(
        Vendor.objects.none(), required=False, label="Source: vendor"
    )
    destination_system = forms.CharField(
        max_length=200, required=False, label="Destination: internal system"
    )
    destination_client = forms.ModelChoiceField(
        Client.objects.none(), required=False, label="Destination: client"
    )
    destination_vendor = forms.ModelChoiceField(
        Vendor.objects.none(), required=False, label="Destination: vendor"
    )
    phi_classes = PHI_CLASSES
    channel = forms.ChoiceField(choices=Channel.choices)
    encrypted_in_transit = forms.BooleanField(required=False, initial=True)
    encrypted_at_rest = forms.BooleanField(required=False, initial=True)
    volume = forms.CharField(max_length=100, required=False)
    baa = forms.ModelChoiceField(Baa.objects.none(), required=False, label="BAA that covers it")

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = actor.organization
        for end in ("source", "destination"):
            self.fields[f"{end}_client"].queryset = Client.objects.for_organization(organization)  # type: ignore[attr-defined]
            self.fields[f"{end}_vendor"].queryset = Vendor.objects.for_organization(organization)  # type: ignore[attr-defined]
        self.fields["baa"].queryset = Baa.objects.for_organization(organization).select_related(  # type: ignore[attr-defined]
            "client", "vendor"
        )

    def data_object(self) -> FlowData:
        return FlowData(**self.cleaned_data)


class ChannelsForm(forms.Form):
    channels = forms.MultipleChoiceField(
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Channels approved for PHI",
    )


class FlowReviewForm(forms.Form):
    reviewed_on = forms.DateField(widget=DATE)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    confirm = forms.BooleanField(
        label="I reviewed every flow, party and flag on the map and sign it off."
    )


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[("vendors", "Vendors"), ("clients", "Clients")])
    file = forms.FileField(required=False, label="CSV file")
    csv_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        label="Or paste the CSV",
    )
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run: check the file and change nothing"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            try:
                data["csv_text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
        if not data.get("csv_text"):
            self.add_error("csv_text", "Choose a file or paste the CSV.")
        return data
