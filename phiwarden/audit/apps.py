from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "phiwarden.audit"
    label = "audit"
    verbose_name = "Audit trail"
