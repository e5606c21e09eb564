from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "phiwarden.compliance"
    label = "compliance"
    verbose_name = "Compliance"
