from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "phiwarden.partners"
    label = "partners"
    verbose_name = "Clients, vendors, BAAs and the PHI flow map"

    def ready(self) -> None:
        from phiwarden.partners import obligations  # noqa: F401  (registers the provider)
