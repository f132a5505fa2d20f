"""Commerces: create and change, unique keys per tenant."""

from django.db import transaction

from commerces.models import (
    Commerce,
)
from commerces.services.common import COMMERCE_FIELDS, blank_to_none, conflict, merge_metadata, save_or_conflict


def _check_commerce_unique(*, tenant, external_id=None, tax_id=None, exclude_id=None):
    others = Commerce.objects.for_tenant(tenant).exclude(pk=exclude_id)
    if external_id is not None and others.filter(external_id=external_id).exists():
        conflict("external_id", f"A commerce with external_id {external_id!r} already exists in this tenant")
    if tax_id is not None and others.filter(tax_id=tax_id).exists():
        conflict("tax_id", f"A commerce with tax_id {tax_id!r} already exists in this tenant")


@transaction.atomic
def commerce_create(*, tenant, data):
    fields = {key: data[key] for key in COMMERCE_FIELDS if key in data}
    fields["tax_id"] = blank_to_none(fields.get("tax_id"))
    fields["global_external_id"] = blank_to_none(fields.get("global_external_id"))
    _check_commerce_unique(tenant=tenant, external_id=fields["external_id"], tax_id=fields["tax_id"])
    commerce = Commerce(tenant=tenant, metadata=merge_metadata({}, data.get("metadata")), **fields)
    return save_or_conflict(commerce, "A commerce with this external_id or tax_id already exists in this tenant")


@transaction.atomic
def commerce_update(*, commerce, data):
    """Change the fields sent; `metadata` is merged key by key."""
    commerce = Commerce.objects.select_for_update().get(pk=commerce.pk)
    changes = {key: data[key] for key in COMMERCE_FIELDS if key in data}
    for key in ("tax_id", "global_external_id"):
        if key in changes:
            changes[key] = blank_to_none(changes[key])
    if "metadata" in data:
        changes["metadata"] = merge_metadata(commerce.metadata, data["metadata"])
    changes = {key: value for key, value in changes.items() if getattr(commerce, key) != value}
    if not changes:
        return commerce
    _check_commerce_unique(tenant=commerce.tenant_id, external_id=changes.get("external_id"),
                           tax_id=changes.get("tax_id"), exclude_id=commerce.pk)
    for key, value in changes.items():
        setattr(commerce, key, value)
    return save_or_conflict(commerce, "A commerce with this external_id or tax_id already exists in this tenant",
                             update_fields=[*changes, "updated_at"])
