from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "phiwarden.vault"
    label = "vault"
    verbose_name = "Encryption keys and encrypted files"
