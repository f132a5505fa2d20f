from django.apps import AppConfig


class RetenConfig(AppConfig):
    name = "reten"

    def ready(self):
        from reten import audit
        from reten.api import schema  # noqa: F401  (registers the OpenAPI authentication extensions)

        audit.connect()
