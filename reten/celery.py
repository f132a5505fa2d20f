"""Celery app for scale-out dispatch. Without CELERY_BROKER_URL, tasks run eagerly in-process."""
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

from reten.env import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reten.settings")
# Workers and beat read the settings lazily, deep inside Celery; load them now so a bad setting stops the
# process with one line (this module is imported with the `reten` package, so every entry point passes here).
exit_on_configuration_error()

app = Celery("reten")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections_around_task(sender=None, task=None, **kwargs):
    """Between two tasks a worker treats its database connections as Django does between two requests: it keeps
    them while CONN_MAX_AGE allows and they still work (and checks them before the next use, conn_health_checks).
    Celery's own Django fixup would close them before and after every task (CELERY_DB_REUSE_MAX in settings turns
    that off), so each task paid a new PostgreSQL connection and its cold catalogue: most of the time of a
    one-activity dispatch (issue 15). An eager task runs inside its caller's request or transaction: left alone."""
    if getattr(getattr(task, "request", None), "is_eager", False):
        return
    close_old_connections()
