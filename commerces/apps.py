from django.apps import AppConfig


class CommercesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "commerces"
