"""The Celery application. Configuration comes from Django settings (CELERY_*)."""

from __future__ import annotations

import os
from enum import StrEnum

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class CeleryQueue(StrEnum):
    """Every queue the app uses. Workers subscribe with `-Q` to one or more of these."""

    DEFAULT = "celery"
    INGEST = "ingest"
    DETECTION = "detection"
    ENFORCEMENT = "enforcement"
    SHARING = "sharing"


app = Celery("hydra_watch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
