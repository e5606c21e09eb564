from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "phiwarden.partners"
    label = "partners"
    verbose_name = "Clients, vendors, BAAs and the PHI flow map"
