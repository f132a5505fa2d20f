"""Celery app for scale-out dispatch. Without CELERY_BROKER_URL, tasks run eagerly in-process."""
import os

from celery import Celery

from reten.env import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reten.settings")
# Workers and beat read the settings lazily, deep inside Celery; load them now so a bad setting stops the
# process with one line (this module is imported with the `reten` package, so every entry point passes here).
exit_on_configuration_error()

app = Celery("reten")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
