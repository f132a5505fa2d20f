from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "activities"

    def ready(self):
        from activities.models import AttributePolicy, TargetResolutionConfig, TaskResultType
        from reten.audit import audit_register

        audit_register(TargetResolutionConfig, object_type="target_resolution_config")
        audit_register(AttributePolicy, object_type="attribute_policy")
        audit_register(TaskResultType, object_type="task_result_type")
