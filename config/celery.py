"""The Celery app and its beat schedule."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tally")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "refresh-reports": {
        "task": "results.refresh",
        "schedule": float(os.environ.get("TALLY_REFRESH_SECONDS", "60")),
    },
}
