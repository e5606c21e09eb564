from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "phiwarden.incidents"
    label = "incidents"
    verbose_name = "Incidents and breach notification"
