from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "phiwarden.core"
    label = "core"
    verbose_name = "Core"
