from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "phiwarden.billing"
    label = "billing"
    verbose_name = "Billing records"
