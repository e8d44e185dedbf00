from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "investigations.sharing"
    label = "sharing"
