from django.apps import AppConfig


class DispatchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dispatch"
    label = "dispatch"

    def ready(self):
        # activities never imports dispatch: dispatch tells it what to do when activities are due, and how to
        # send one now (the console's button).
        from activities import hooks
        from dispatch.metrics import ActivitiesDueCollector
        from dispatch.models import ChannelDefinition, DispatchConfig, DispatchProvider
        from dispatch.services.enqueue import enqueue_many_if_due
        from dispatch.services.outbound import dispatch_now_in_request
        from reten.audit import audit_register
        from reten.metrics import register_scrape_collector

        hooks.register_activities_due(enqueue_many_if_due)
        hooks.register_dispatch_now(dispatch_now_in_request)

        audit_register(DispatchProvider, object_type="provider")
        audit_register(ChannelDefinition, object_type="channel_definition")
        # Credential key names only: the ciphertext never reaches an entry ("[redacted]" says it changed).
        audit_register(DispatchConfig, object_type="dispatch_config", secret_fields=["credentials_encrypted"])
        register_scrape_collector(ActivitiesDueCollector())
