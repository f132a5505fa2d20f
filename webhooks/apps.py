from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    label = "webhooks"

    def ready(self):
        # activities and dispatch never import webhooks: webhooks tells them what to do when status events are
        # written (the outbox, same transaction), adds its delivery to every dispatcher pass, and its secrets to
        # rotate_credentials_key.
        from activities import hooks as activity_hooks
        from dispatch import hooks as dispatch_hooks
        from webhooks.secrets import secrets_rotate
        from webhooks.services.delivery import deliver_pass_surviving_faults
        from webhooks.services.outbox import write_outbox

        activity_hooks.register_status_events_written(write_outbox)
        dispatch_hooks.register_pass_step(deliver_pass_surviving_faults)
        dispatch_hooks.register_secret_rotation(secrets_rotate)  # the endpoint secrets use dispatch's key ring
