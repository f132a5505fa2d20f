"""Addresses of a commerce (one primary; recognised by source_ref or their location fields)."""
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from commerces.models import (
    Address,
    Commerce,
)
from commerces.services.common import ADDRESS_FIELDS, COORDINATE_STEP, conflict, save_or_conflict


def coordinate_clean(value):
    """Degrees as the Decimal the column stores (6 places), so equal values compare equal."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(COORDINATE_STEP, rounding=ROUND_HALF_UP)


def clean_address_fields(data):
    fields = {key: data[key] for key in ADDRESS_FIELDS if key in data}
    if "country_code" in fields:
        fields["country_code"] = (fields["country_code"] or "").upper()
    if "source_ref" in fields:
        fields["source_ref"] = (fields["source_ref"] or "").strip()
    for key in ("latitude", "longitude"):
        if key in fields:
            fields[key] = coordinate_clean(fields[key])
    return fields


def _check_source_ref_free(*, commerce_id, source_ref, exclude_id=None):
    if source_ref and Address.objects.filter(commerce_id=commerce_id, source_ref=source_ref).exclude(
        pk=exclude_id
    ).exists():
        conflict("source_ref", f"This commerce already has an address with source_ref {source_ref!r}")


@transaction.atomic
def address_create(*, commerce, data):
    fields = clean_address_fields(data)
    Commerce.objects.select_for_update().filter(pk=commerce.pk).first()
    _check_source_ref_free(commerce_id=commerce.pk, source_ref=fields.get("source_ref"))
    return address_save(address=Address(commerce=commerce, **fields))


@transaction.atomic
def address_update(*, address, data):
    Commerce.objects.select_for_update().filter(pk=address.commerce_id).first()
    address = Address.objects.get(pk=address.pk)
    changes = {key: value for key, value in clean_address_fields(data).items() if getattr(address, key) != value}
    if not changes:
        return address
    if "source_ref" in changes:
        _check_source_ref_free(commerce_id=address.commerce_id, source_ref=changes["source_ref"],
                               exclude_id=address.pk)
    for key, value in changes.items():
        setattr(address, key, value)
    return address_save(address=address)


@transaction.atomic
def address_save(*, address):
    """Save an address (API or admin); when it is primary, the commerce's previous primary is demoted."""
    if address.is_primary:
        Address.objects.filter(commerce_id=address.commerce_id, is_primary=True).exclude(pk=address.pk).update(
            is_primary=False, updated_at=timezone.now()
        )
    return save_or_conflict(address, "This commerce already has an address with this source_ref")
