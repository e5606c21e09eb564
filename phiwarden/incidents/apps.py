from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "phiwarden.incidents"
    label = "incidents"
    verbose_name = "Incidents and breach notification"

    def ready(self) -> None:
        """Declare the encrypted narrative (so `rotate_keys` re-encrypts it) and register
        the breach deadlines as obligations."""
        from phiwarden.incidents import models, obligations  # noqa: F401  (registers)
        from phiwarden.vault import registry

        registry.register(models.Incident, columns=["description_ct"])
