from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "phiwarden.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from phiwarden.core.db import use_compiled_timestamps

        connection_created.connect(use_compiled_timestamps, dispatch_uid="core.compiled_timestamps")
