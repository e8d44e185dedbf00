from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "investigations.detection"
    label = "detection"
