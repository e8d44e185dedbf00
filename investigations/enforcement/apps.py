from django.apps import AppConfig


class EnforcementConfig(AppConfig):
    name = "investigations.enforcement"
    label = "enforcement"
