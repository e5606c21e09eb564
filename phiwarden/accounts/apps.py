from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "phiwarden.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"

    def ready(self) -> None:
        from phiwarden.accounts import handlers  # noqa: F401  (connects the receivers)
