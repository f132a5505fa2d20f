"""Django's admin app with the console's site (tenants/console.py) as `admin.site`, so every `@admin.register`
of the project registers on it."""
from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    default_site = "tenants.console.RetenAdminSite"
