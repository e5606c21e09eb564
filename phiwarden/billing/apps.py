from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "phiwarden.billing"
    label = "billing"
    verbose_name = "Billing records"

    def ready(self) -> None:
        """Declare the encrypted columns, so `rotate_keys` re-encrypts them; register the
        open export requests as obligations."""
        from phiwarden.billing import models, obligations  # noqa: F401  (registers)
        from phiwarden.vault import registry

        encrypted = {
            models.Provider: ["tax_id_ct"],
            models.Patient: [
                "name_ct",
                "birth_date_ct",
                "sex_ct",
                "address_ct",
                "phone_ct",
                "ssn_ct",
            ],
            models.Coverage: ["member_id_ct", "group_number_ct"],
            models.Claim: [
                "account_number_ct",
                "payer_claim_number_ct",
                "diagnoses_ct",
                "prior_authorization_ct",
            ],
            models.ServiceLine: ["procedure_ct"],
            models.ClaimPayment: [
                "account_number_ct",
                "payer_claim_number_ct",
                "patient_name_ct",
                "member_id_ct",
            ],
            models.ProviderAdjustment: ["reference_ct"],
            models.PlanRestriction: ["note_ct"],
        }
        for model, columns in encrypted.items():
            registry.register(model, columns=columns)
