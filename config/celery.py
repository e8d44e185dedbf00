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


# Each app's tasks go to its own queue, so workers can be scaled per kind of work
# (`celery worker -Q ingest`). Routing by module keeps task decorators free of queues.
TASK_ROUTES = {
    "ingest.tasks.*": {"queue": CeleryQueue.INGEST.value},
    "investigations.detection.tasks.*": {"queue": CeleryQueue.DETECTION.value},
    "investigations.enforcement.tasks.*": {"queue": CeleryQueue.ENFORCEMENT.value},
    "investigations.sharing.tasks.*": {"queue": CeleryQueue.SHARING.value},
    "investigations.tasks.*": {"queue": CeleryQueue.DEFAULT.value},
}

app = Celery("hydra_watch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = TASK_ROUTES
app.autodiscover_tasks()
