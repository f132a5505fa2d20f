"""Shared model bases: UUID ids, timestamps, and the tenant-scoped queryset every tenant query starts from."""
import uuid

from django.db import models


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant):
        return self.filter(tenant=tenant)


class TimestampedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantOwnedModel(TimestampedModel):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True

    def get_additional_data(self):
        """What django-auditlog stores with each entry of this object: its tenant (reten/audit.py)."""
        return {"tenant_id": str(self.tenant_id)}
