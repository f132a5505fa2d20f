"""Shared by the directory services: field lists, value cleaning (contacts, phones, metadata), errors and the
bulk-write helpers of the syncs."""
import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from commerces.models import (
    ContactType,
)
from reten import errors
from reten.db import bulk_update

# The most items one sync call accepts (SPEC section 3).
SYNC_MAX_ITEMS = 1000
# E.164: a plus sign, then 8 to 15 digits, the first of which is not 0.
E164_PATTERN = re.compile(r"^\+[1-9]\d{7,14}$")
PHONE_SEPARATORS = re.compile(r"[\s\-().]")
E164_PROBLEM = "Enter a phone number in E.164 format: + followed by 8 to 15 digits (e.g. +56912345678)."
COORDINATE_STEP = Decimal("0.000001")
# Addresses without a source_ref are recognised across syncs by these fields.
ADDRESS_IDENTITY_FIELDS = ("address_alias", "street", "street_number", "unit", "city", "commune", "region",
                           "country_code")
ADDRESS_FIELDS = (*ADDRESS_IDENTITY_FIELDS, "formatted_address", "latitude", "longitude", "is_primary", "source",
                  "source_ref", "is_active")
COMMERCE_FIELDS = ("external_id", "name", "tax_id", "global_external_id", "is_active", "is_placeholder")
COMMERCE_USER_FIELDS = ("external_id", "first_name", "last_name", "source", "is_active")
OPERATOR_FIELDS = ("type", "name", "email", "phone", "external_id", "is_active", "is_placeholder")
ROUTE_FIELDS = ("code", "name", "is_active")


@dataclass(frozen=True)
class SyncResult:
    created: int
    updated: int

    @property
    def total(self):
        return self.created + self.updated




def contact_value_clean(contact_type, value):
    """The stored form of a contact value; ValueError (with the problem) when it does not fit its type.

    E-mail addresses are lower-cased; phone numbers lose spaces, dashes, dots and parentheses, then must be E.164.
    """
    text = (value or "").strip()
    if not text:
        raise ValueError("This field may not be blank.")
    if contact_type == ContactType.EMAIL:
        try:
            validate_email(text)
        except DjangoValidationError:
            raise ValueError("Enter a valid e-mail address.") from None
        return text.lower()
    if contact_type in (ContactType.PHONE, ContactType.WHATSAPP):
        return phone_clean(text)
    return text


def phone_clean(value):
    compact = PHONE_SEPARATORS.sub("", value or "")
    if not E164_PATTERN.match(compact):
        raise ValueError(E164_PROBLEM)
    return compact


def merge_metadata(current, changes):
    """Key-by-key merge: keys sent replace stored ones, a key sent as null is removed, others are kept."""
    merged = dict(current or {})
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def blank_to_none(value):
    if value is None:
        return None
    value = value.strip()
    return value or None


def fail(details):
    """Raise ValidationFailed naming the first problem (worded like the API's own validation errors)."""
    raise errors.ValidationFailed.of(details)


def conflict(field, message):
    raise errors.Conflict(message, details={field: [message]})


def save_or_conflict(instance, message, **save_kwargs):
    """Save in a savepoint; a unique index that a concurrent request filled first becomes a 409."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError:
        raise errors.Conflict(message) from None
    return instance


def check_batch_size(items):
    if len(items) > SYNC_MAX_ITEMS:
        fail({"items": [f"Ensure this field has no more than {SYNC_MAX_ITEMS} elements (got {len(items)})."]})


def apply_values(instance, values):
    """Set the values that differ; True when something changed."""
    changed = False
    for key, value in values.items():
        if getattr(instance, key) != value:
            setattr(instance, key, value)
            changed = True
    return changed


def write_rows(model, *, created, updated, fields, now, demoted=()):
    """Demotions first (a partial unique index allows one primary), then updates, then inserts."""
    for group in (demoted, updated):
        for instance in group:
            instance.updated_at = now
        bulk_update(model, group, [*fields, "updated_at"])
    if created:
        model.objects.bulk_create(created)
