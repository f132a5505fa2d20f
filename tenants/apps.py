from django.apps import AppConfig


class TenantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tenants"

    def ready(self):
        from reten.audit import audit_register
        from tenants.models import ApiKey, Membership, Role

        # Invitations are memberships with status INVITED: the same entries.
        audit_register(Membership, object_type="membership", m2m_fields=["roles"])
        audit_register(Role, object_type="role")
        audit_register(ApiKey, object_type="api_key", exclude_fields=["key_hash", "last_used_at"])
