from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "phiwarden.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from phiwarden.audit import reviews  # noqa: F401  (registers the review obligations)
