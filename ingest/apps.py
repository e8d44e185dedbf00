from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Batches of flagged accounts, alerts and events: parse, validate, load."""

    name = "ingest"
