from django.apps import AppConfig


class DispatchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dispatch"
    label = "dispatch"

    def ready(self):
        # activities never imports dispatch: dispatch tells it what to do when activities are due, and how to
        # send one now (the console's button).
        from activities import hooks
        from dispatch.services.enqueue import enqueue_many_if_due
        from dispatch.services.outbound import dispatch_now_in_request

        hooks.register_activities_due(enqueue_many_if_due)
        hooks.register_dispatch_now(dispatch_now_in_request)
