import os

from django.core.wsgi import get_wsgi_application

from reten.env import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reten.settings")
exit_on_configuration_error()  # gunicorn: a bad setting stops the worker with one line, not a traceback
application = get_wsgi_application()
