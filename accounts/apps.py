from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """The provider's API accounts under watch and their usage events."""

    name = "accounts"
