"""Forms of the billing pages. Identifiers typed for a look-up travel in POST bodies,
never in URLs (no PHI in URLs, server logs or browser history)."""

from __future__ import annotations

from typing import Any

from django import forms

from phiwarden.accounts.models import Client, Membership
from phiwarden.billing.minimum_necessary import purposes_for
from phiwarden.billing.models import ClaimStatus, LiftBasis
from phiwarden.billing.selectors import LookupKind, clients_reached


class PurposeForm(forms.Form):
    purpose = forms.ChoiceField(
        label="Purpose of use",
        help_text="What you need the records for; it decides which fields you see.",
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(p.value, p.label) for p in purposes_for(membership.role)]
        self.fields["purpose"].choices = choices  # type: ignore[attr-defined]
        if choices and not self.is_bound:
            self.initial.setdefault("purpose", choices[0][0])

    def chosen_purpose(self) -> str:
        if self.is_bound and self.is_valid():
            return str(self.cleaned_data["purpose"])
        return str(self.initial.get("purpose", ""))


class QueueForm(PurposeForm):
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Every status"), *ClaimStatus.choices]
    )


class LookupForm(PurposeForm):
    kind = forms.ChoiceField(
        label="Look up by",
        choices=[
            (LookupKind.MEMBER_ID, "Member id"),
            (LookupKind.ACCOUNT_NUMBER, "Patient account number"),
            (LookupKind.NAME_AND_BIRTH_DATE, "Full name and date of birth"),
        ],
    )
    value = forms.CharField(label="Member id or account number", required=False, max_length=80)
    last_name = forms.CharField(required=False, max_length=60)
    first_name = forms.CharField(required=False, max_length=35)
    birth_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Date of birth"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in (LookupKind.MEMBER_ID, LookupKind.ACCOUNT_NUMBER) and not data.get("value"):
            self.add_error("value", "Enter the identifier to look up.")
        if kind == LookupKind.NAME_AND_BIRTH_DATE and not (
            data.get("last_name") and data.get("first_name") and data.get("birth_date")
        ):
            self.add_error(
                None, "A name look-up needs the last name, first name and date of birth."
            )
        return data


ALLOWED_UPLOAD_SUFFIXES = (".x12", ".edi", ".txt", ".837", ".835", ".dat")


class ImportForm(forms.Form):
    client: forms.ModelChoiceField[Client] = forms.ModelChoiceField(
        queryset=Client.objects.none(), help_text="The practice the file belongs to."
    )
    file = forms.FileField(help_text="An X12 837P, 837I or 835 interchange.")

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients_reached(membership).order_by("name")  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(ALLOWED_UPLOAD_SUFFIXES):
            raise forms.ValidationError(
                "Upload an X12 file (.x12, .edi, .txt, .837, .835 or .dat)."
            )
        head = upload.read(256)
        upload.seek(0)
        stripped = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \r\n\t")
        if not (stripped.startswith((b"ISA", b"I\x00S\x00A"))):
            raise forms.ValidationError("This is not an X12 file: it does not begin with ISA.")
        return upload


class ExportForm(QueueForm):
    client: forms.ModelChoiceField[Client] = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="Every client"
    )
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")])
    recipient = forms.CharField(
        max_length=120, help_text="Who will receive the file (a person or a system)."
    )
    reason = forms.CharField(max_length=200, help_text="Why the file is needed.")

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, membership=membership, **kwargs)
        self.fields["client"].queryset = clients_reached(membership).order_by("name")  # type: ignore[attr-defined]


class ExportDecisionForm(forms.Form):
    request_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("deny", "Deny")], widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label="Reason for your decision",
        max_length=200,
        help_text="Kept with the request; the requester sees it.",
    )


class ExportDownloadForm(forms.Form):
    request_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RestrictionForm(forms.Form):
    """45 CFR 164.522(a)(1)(vi): the patient paid in full and asked that the plan not be told."""

    line_numbers = forms.TypedMultipleChoiceField(
        label="Service lines the patient paid for",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        # LX01 runs to 50 on an 837P and 999 on an 837I; the page lists the claim's lines.
        choices=[(n, f"Line {n}") for n in range(1, 1000)],
    )
    paid_in_full = forms.BooleanField(
        label="The patient (or someone for them) paid these services in full out of pocket "
        "and asked that their health plan not be told."
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How the request was received (kept encrypted).",
    )


class RestrictionLiftForm(forms.Form):
    """45 CFR 164.522(a)(2)(i)-(ii): only the patient ends a self-pay restriction."""

    line_numbers = forms.TypedMultipleChoiceField(
        label="Restricted lines to release",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        choices=[(n, f"Line {n}") for n in range(1, 1000)],
    )
    basis = forms.ChoiceField(
        label="How the patient asked to end the restriction",
        choices=LiftBasis.choices,
        widget=forms.RadioSelect,
    )
