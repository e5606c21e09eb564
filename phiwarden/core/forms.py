"""Form helpers shared by the apps' views."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.forms import BaseForm


def errors_to_form(form: BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: each field's messages on that field when
    the form has it, everything else (and a message without fields) on the form itself."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)
