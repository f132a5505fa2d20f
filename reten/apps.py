from django.apps import AppConfig


class RetenConfig(AppConfig):
    name = "reten"

    def ready(self):
        from reten import audit
        from reten.api import choices, schema  # noqa: F401  (schema registers the OpenAPI authentication extensions)

        audit.connect()
        choices.install()
