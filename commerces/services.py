"""State changes for the commerce directory: commerces, their people, contacts and addresses; operators, routes.

Every service is keyword-only, runs in one transaction and raises `reten.errors` exceptions. Field shapes
(types, lengths, enums) are checked by the API serializers; the rules here are the domain's: contact values
per type, one primary per kind, uniqueness per tenant, and the all-or-nothing bulk syncs.
"""
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from commerces.models import (
    Address,
    Commerce,
    CommerceUser,
    CommerceUserRole,
    CommerceUserRoleAssignment,
    Contact,
    ContactType,
    Operator,
    Route,
    RouteOperator,
    RouteOperatorRole,
    Source,
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


# --- values -------------------------------------------------------------------------------------------------


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


def _blank_to_none(value):
    if value is None:
        return None
    value = value.strip()
    return value or None


def _fail(details):
    """Raise ValidationFailed naming the first problem (worded like the API's own validation errors)."""
    field, problems = next(iter(details.items()))
    raise errors.ValidationFailed(f"Validation failed: {field}: {problems[0]}", details=details)


def _conflict(field, message):
    raise errors.Conflict(message, details={field: [message]})


def _save_or_conflict(instance, message, **save_kwargs):
    """Save in a savepoint; a unique index that a concurrent request filled first becomes a 409."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError:
        raise errors.Conflict(message) from None
    return instance


# --- commerces ----------------------------------------------------------------------------------------------


def _check_commerce_unique(*, tenant, external_id=None, tax_id=None, exclude_id=None):
    others = Commerce.objects.for_tenant(tenant).exclude(pk=exclude_id)
    if external_id is not None and others.filter(external_id=external_id).exists():
        _conflict("external_id", f"A commerce with external_id {external_id!r} already exists in this tenant")
    if tax_id is not None and others.filter(tax_id=tax_id).exists():
        _conflict("tax_id", f"A commerce with tax_id {tax_id!r} already exists in this tenant")


@transaction.atomic
def commerce_create(*, tenant, data):
    fields = {key: data[key] for key in COMMERCE_FIELDS if key in data}
    fields["tax_id"] = _blank_to_none(fields.get("tax_id"))
    fields["global_external_id"] = _blank_to_none(fields.get("global_external_id"))
    _check_commerce_unique(tenant=tenant, external_id=fields["external_id"], tax_id=fields["tax_id"])
    commerce = Commerce(tenant=tenant, metadata=merge_metadata({}, data.get("metadata")), **fields)
    return _save_or_conflict(commerce, "A commerce with this external_id or tax_id already exists in this tenant")


@transaction.atomic
def commerce_update(*, commerce, data):
    """Change the fields sent; `metadata` is merged key by key."""
    commerce = Commerce.objects.select_for_update().get(pk=commerce.pk)
    changes = {key: data[key] for key in COMMERCE_FIELDS if key in data}
    for key in ("tax_id", "global_external_id"):
        if key in changes:
            changes[key] = _blank_to_none(changes[key])
    if "metadata" in data:
        changes["metadata"] = merge_metadata(commerce.metadata, data["metadata"])
    changes = {key: value for key, value in changes.items() if getattr(commerce, key) != value}
    if not changes:
        return commerce
    _check_commerce_unique(tenant=commerce.tenant_id, external_id=changes.get("external_id"),
                           tax_id=changes.get("tax_id"), exclude_id=commerce.pk)
    for key, value in changes.items():
        setattr(commerce, key, value)
    return _save_or_conflict(commerce, "A commerce with this external_id or tax_id already exists in this tenant",
                             update_fields=[*changes, "updated_at"])


# --- commerce users, roles, contacts ------------------------------------------------------------------------


def _clean_contacts(contacts, prefix="contacts"):
    """Normalise a list of contact dicts in place; problems keyed `<prefix>.<i>.<field>`."""
    problems, seen, primary_of_type = {}, {}, {}
    for index, contact in enumerate(contacts):
        path = f"{prefix}.{index}"
        try:
            contact["value"] = contact_value_clean(contact["contact_type"], contact["value"])
        except ValueError as exc:
            problems[f"{path}.value"] = [str(exc)]
            continue
        key = (contact["contact_type"], contact["value"])
        if key in seen:
            problems[f"{path}.value"] = [f"Duplicate {key[0]} contact in this request (also {prefix}.{seen[key]})."]
        seen.setdefault(key, index)
        if contact.get("is_primary"):
            if contact["contact_type"] in primary_of_type:
                earlier = primary_of_type[contact["contact_type"]]
                problems[f"{path}.is_primary"] = [
                    f"Only one primary {contact['contact_type']} contact per user (also {prefix}.{earlier})."
                ]
            primary_of_type.setdefault(contact["contact_type"], index)
    return problems


def _clean_role_list(roles, field="roles"):
    unknown = [role for role in roles if role not in CommerceUserRole.values]
    if unknown:
        _fail({field: [f"{unknown[0]!r} is not one of {', '.join(CommerceUserRole.values)}."]})
    return list(dict.fromkeys(roles))


@transaction.atomic
def commerce_user_create(*, commerce, data):
    """A person at the store, with optional `roles` and `contacts` (validated per type)."""
    fields = {key: data[key] for key in COMMERCE_USER_FIELDS if key in data}
    fields["external_id"] = _blank_to_none(fields.get("external_id"))
    roles = _clean_role_list(data.get("roles") or [])
    contacts = [dict(contact) for contact in data.get("contacts") or []]
    problems = _clean_contacts(contacts)
    if problems:
        _fail(problems)
    if fields["external_id"] and CommerceUser.objects.filter(commerce=commerce,
                                                             external_id=fields["external_id"]).exists():
        _conflict("external_id", f"This commerce already has a user with external_id {fields['external_id']!r}")
    user = _save_or_conflict(CommerceUser(commerce=commerce, **fields),
                             "This commerce already has a user with this external_id")
    CommerceUserRoleAssignment.objects.bulk_create(
        [CommerceUserRoleAssignment(commerce_user=user, role=role) for role in roles]
    )
    Contact.objects.bulk_create([
        Contact(commerce_user=user, source=contact.get("source", fields.get("source", Source.RETEN)),
                **{key: contact[key] for key in ("contact_type", "value", "is_primary", "is_active") if key in contact})
        for contact in contacts
    ])
    return user


@transaction.atomic
def commerce_user_update(*, commerce_user, data):
    user = CommerceUser.objects.select_for_update().get(pk=commerce_user.pk)
    changes = {key: data[key] for key in COMMERCE_USER_FIELDS if key in data}
    if "external_id" in changes:
        changes["external_id"] = _blank_to_none(changes["external_id"])
    changes = {key: value for key, value in changes.items() if getattr(user, key) != value}
    if not changes:
        return user
    if changes.get("external_id") and CommerceUser.objects.filter(
        commerce_id=user.commerce_id, external_id=changes["external_id"]
    ).exclude(pk=user.pk).exists():
        _conflict("external_id", f"This commerce already has a user with external_id {changes['external_id']!r}")
    for key, value in changes.items():
        setattr(user, key, value)
    return _save_or_conflict(user, "This commerce already has a user with this external_id",
                             update_fields=[*changes, "updated_at"])


@transaction.atomic
def commerce_user_role_add(*, commerce_user, role):
    """Give the user a role; giving a role the user already holds changes nothing."""
    (role,) = _clean_role_list([role], field="role")
    assignment, _ = CommerceUserRoleAssignment.objects.get_or_create(commerce_user=commerce_user, role=role)
    return assignment


@transaction.atomic
def commerce_user_role_remove(*, commerce_user, role):
    _clean_role_list([role], field="role")
    deleted, _ = CommerceUserRoleAssignment.objects.filter(commerce_user=commerce_user, role=role).delete()
    if not deleted:
        raise errors.NotFound(f"This user does not hold the role {role}")


def _demote_other_primary_contacts(contact):
    Contact.objects.filter(
        commerce_user_id=contact.commerce_user_id, contact_type=contact.contact_type, is_primary=True
    ).exclude(pk=contact.pk).update(is_primary=False, updated_at=timezone.now())


@transaction.atomic
def contact_create(*, commerce_user, data):
    """Add a contact; its value is validated for its type; a new primary demotes the previous one."""
    # Lock the person so two primaries of one type cannot be written side by side.
    CommerceUser.objects.select_for_update().filter(pk=commerce_user.pk).first()
    contact = Contact(commerce_user=commerce_user, **{key: data[key] for key in (
        "contact_type", "value", "is_primary", "source", "is_active") if key in data})
    _clean_contact_value(contact)
    if Contact.objects.filter(commerce_user=commerce_user, contact_type=contact.contact_type,
                              value=contact.value).exists():
        _conflict("value", f"This user already has the {contact.contact_type} contact {contact.value!r}")
    return contact_save(contact=contact)


def _clean_contact_value(contact):
    try:
        contact.value = contact_value_clean(contact.contact_type, contact.value)
    except ValueError as exc:
        _fail({"value": [str(exc)]})


@transaction.atomic
def contact_save(*, contact):
    """Save a contact (API or admin): its value is checked for its type, and when it is primary the user's
    previous primary of that type is demoted."""
    _clean_contact_value(contact)
    if contact.is_primary:
        _demote_other_primary_contacts(contact)
    return _save_or_conflict(contact, "This user already has this contact")


# --- addresses ----------------------------------------------------------------------------------------------


def coordinate_clean(value):
    """Degrees as the Decimal the column stores (6 places), so equal values compare equal."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(COORDINATE_STEP, rounding=ROUND_HALF_UP)


def _clean_address_fields(data):
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
        _conflict("source_ref", f"This commerce already has an address with source_ref {source_ref!r}")


@transaction.atomic
def address_create(*, commerce, data):
    fields = _clean_address_fields(data)
    Commerce.objects.select_for_update().filter(pk=commerce.pk).first()
    _check_source_ref_free(commerce_id=commerce.pk, source_ref=fields.get("source_ref"))
    return address_save(address=Address(commerce=commerce, **fields))


@transaction.atomic
def address_update(*, address, data):
    Commerce.objects.select_for_update().filter(pk=address.commerce_id).first()
    address = Address.objects.get(pk=address.pk)
    changes = {key: value for key, value in _clean_address_fields(data).items() if getattr(address, key) != value}
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
    return _save_or_conflict(address, "This commerce already has an address with this source_ref")


# --- commerce sync ------------------------------------------------------------------------------------------


def _check_batch_size(items):
    if len(items) > SYNC_MAX_ITEMS:
        _fail({"items": [f"Ensure this field has no more than {SYNC_MAX_ITEMS} elements (got {len(items)})."]})


def _address_key(address):
    if address.get("source_ref"):
        return ("ref", address["source_ref"])
    return ("fields", *(address.get(field) or "" for field in ADDRESS_IDENTITY_FIELDS))


def _stored_address_key(address):
    if address.source_ref:
        return ("ref", address.source_ref)
    return ("fields", *(getattr(address, field) for field in ADDRESS_IDENTITY_FIELDS))


def _validate_commerce_items(items):
    """Normalise the batch in place and collect every domain problem, keyed by its path in the body."""
    problems, external_ids, tax_ids = {}, {}, {}
    for index, item in enumerate(items):
        path = f"items.{index}"
        external_id = item["external_id"]
        if external_id in external_ids:
            problems[f"{path}.external_id"] = [
                f"Duplicate external_id {external_id!r} in this request (also items.{external_ids[external_id]})."
            ]
        external_ids.setdefault(external_id, index)
        if "tax_id" in item:
            item["tax_id"] = _blank_to_none(item["tax_id"])
            if item["tax_id"] is not None:
                if item["tax_id"] in tax_ids:
                    problems[f"{path}.tax_id"] = [
                        f"Duplicate tax_id {item['tax_id']!r} in this request (also items.{tax_ids[item['tax_id']]})."
                    ]
                tax_ids.setdefault(item["tax_id"], index)
        if "global_external_id" in item:
            item["global_external_id"] = _blank_to_none(item["global_external_id"])
        primary_address, address_keys = None, {}
        for position, address in enumerate(item.get("addresses") or ()):
            address_path = f"{path}.addresses.{position}"
            address.update(_clean_address_fields(address))
            key = _address_key(address)
            if key in address_keys:
                problems[f"{address_path}.source_ref"] = [
                    f"Duplicate address in this request (also {path}.addresses.{address_keys[key]})."
                ]
            address_keys.setdefault(key, position)
            if address.get("is_primary"):
                if primary_address is not None:
                    problems[f"{address_path}.is_primary"] = [
                        f"Only one primary address per commerce (also {path}.addresses.{primary_address})."
                    ]
                primary_address = position if primary_address is None else primary_address
        user_ids = {}
        for position, user in enumerate(item.get("users") or ()):
            user_path = f"{path}.users.{position}"
            if user["external_id"] in user_ids:
                problems[f"{user_path}.external_id"] = [
                    f"Duplicate user external_id {user['external_id']!r} in this commerce "
                    f"(also {path}.users.{user_ids[user['external_id']]})."
                ]
            user_ids.setdefault(user["external_id"], position)
            if "roles" in user:
                user["roles"] = list(dict.fromkeys(user["roles"]))
            problems.update(_clean_contacts(user.get("contacts") or [], prefix=f"{user_path}.contacts"))
    if problems:
        _fail(problems)
    return tax_ids


def _check_tax_ids_free(*, tenant, items, tax_ids):
    """A tax_id sent must not belong to another commerce of the tenant (409, naming the item)."""
    if not tax_ids:
        return
    conflicts = {}
    holders = Commerce.objects.for_tenant(tenant).filter(tax_id__in=list(tax_ids)).values_list("tax_id",
                                                                                               "external_id")
    for tax_id, holder in holders:
        index = tax_ids[tax_id]
        if holder != items[index]["external_id"]:
            conflicts[f"items.{index}.tax_id"] = [
                f"tax_id {tax_id!r} already belongs to the commerce with external_id {holder!r}."
            ]
    if conflicts:
        field, problems = next(iter(conflicts.items()))
        raise errors.Conflict(f"{field}: {problems[0]}", details=conflicts)


def _apply(instance, values):
    """Set the values that differ; True when something changed."""
    changed = False
    for key, value in values.items():
        if getattr(instance, key) != value:
            setattr(instance, key, value)
            changed = True
    return changed


def _write(model, *, created, updated, fields, now, demoted=()):
    """Demotions first (a partial unique index allows one primary), then updates, then inserts."""
    for group in (demoted, updated):
        for instance in group:
            instance.updated_at = now
        bulk_update(model, group, [*fields, "updated_at"])
    if created:
        model.objects.bulk_create(created)


def commerce_sync(*, tenant, items):
    """Upsert up to 1,000 commerces on `external_id`, with their addresses and users; all or nothing.

    `items` are dicts shaped like the sync request (see `commerces.api.serializers.CommerceSyncItemSerializer`).
    A key left out keeps the stored value (or collection); `metadata` is merged key by key. Users are upserted
    on their `external_id` within the commerce; a user's `roles`, when sent, replace its roles; contacts are
    upserted on type + value and addresses on `source_ref` (or, without one, on their location fields). Nothing
    is deleted. A primary sent demotes the stored one. The number of queries does not depend on the batch size.
    `updated` in the result counts the items that matched a stored commerce, changed or not.
    """
    try:
        return _commerce_sync(tenant=tenant, items=items)
    except IntegrityError:
        raise errors.Conflict("A concurrent change to the same records conflicted with this sync; nothing was "
                              "written. Retry the request.") from None


@transaction.atomic
def _commerce_sync(*, tenant, items):
    _check_batch_size(items)
    tax_ids = _validate_commerce_items(items)
    now = timezone.now()
    existing = {
        commerce.external_id: commerce
        for commerce in Commerce.objects.for_tenant(tenant).filter(
            external_id__in=[item["external_id"] for item in items]
        ).select_for_update()
    }
    _check_tax_ids_free(tenant=tenant, items=items, tax_ids=tax_ids)

    created, updated, commerces = [], [], []
    for item in items:
        values = {key: item[key] for key in COMMERCE_FIELDS if key in item}
        commerce = existing.get(item["external_id"])
        if commerce is None:
            commerce = Commerce(tenant=tenant, metadata=merge_metadata({}, item.get("metadata")), **values)
            created.append(commerce)
        else:
            if "metadata" in item:
                values["metadata"] = merge_metadata(commerce.metadata, item["metadata"])
            if _apply(commerce, values):
                updated.append(commerce)
        commerces.append(commerce)
    _write(Commerce, created=created, updated=updated, now=now,
           fields=[*COMMERCE_FIELDS[1:], "metadata"])

    stored_ids = [commerce.pk for commerce in existing.values()]
    _sync_addresses(items=items, commerces=commerces, stored_ids=stored_ids, now=now)
    _sync_users(items=items, commerces=commerces, stored_ids=stored_ids, now=now)
    return SyncResult(created=len(created), updated=len(existing))


def _sync_addresses(*, items, commerces, stored_ids, now):
    sent = [(commerce, item["addresses"]) for commerce, item in zip(commerces, items, strict=True)
            if item.get("addresses")]
    if not sent:
        return
    stored, stored_commerce_ids = {}, set(stored_ids)
    with_addresses = [commerce.pk for commerce, _ in sent if commerce.pk in stored_commerce_ids]
    if with_addresses:
        for address in Address.objects.filter(commerce_id__in=with_addresses):
            stored.setdefault(address.commerce_id, {})[_stored_address_key(address)] = address
    created, updated, demoted = [], [], []
    for commerce, addresses in sent:
        by_key = stored.get(commerce.pk, {})
        matched = set()
        for address in addresses:
            values = {key: address[key] for key in ADDRESS_FIELDS if key in address}
            current = by_key.get(_address_key(address))
            if current is None:
                values.setdefault("source", Source.INTEGRATION)
                created.append(Address(commerce=commerce, **values))
            else:
                matched.add(current.pk)
                if _apply(current, values):
                    updated.append(current)
        if any(address.get("is_primary") for address in addresses):
            for current in by_key.values():
                if current.pk not in matched and current.is_primary:
                    current.is_primary = False
                    demoted.append(current)
    # A stored primary that the request demotes must be written before the new primary.
    demoted += [address for address in updated if not address.is_primary]
    updated = [address for address in updated if address.is_primary]
    _write(Address, created=created, updated=updated, demoted=demoted, now=now, fields=ADDRESS_FIELDS)


def _sync_users(*, items, commerces, stored_ids, now):
    sent = [(commerce, item["users"]) for commerce, item in zip(commerces, items, strict=True) if item.get("users")]
    if not sent:
        return
    stored_commerce_ids = set(stored_ids)
    stored = {}
    candidates = [commerce.pk for commerce, _ in sent if commerce.pk in stored_commerce_ids]
    if candidates:
        for user in CommerceUser.objects.filter(commerce_id__in=candidates, external_id__isnull=False):
            stored[(user.commerce_id, user.external_id)] = user
    created, updated, synced = [], [], []
    for commerce, users in sent:
        for payload in users:
            values = {key: payload[key] for key in ("first_name", "last_name", "is_active") if key in payload}
            user = stored.get((commerce.pk, payload["external_id"]))
            was_stored = user is not None
            if user is None:
                user = CommerceUser(commerce=commerce, external_id=payload["external_id"], source=Source.INTEGRATION,
                                    **values)
                created.append(user)
            elif _apply(user, values):
                updated.append(user)
            synced.append((user, payload, was_stored))
    _write(CommerceUser, created=created, updated=updated, now=now, fields=["first_name", "last_name", "is_active"])
    # Users that existed before this call may carry roles and contacts to reconcile; new ones carry none.
    stored_user_ids = [user.pk for user, _, was_stored in synced if was_stored]
    _sync_roles(synced=synced, stored_user_ids=stored_user_ids)
    _sync_contacts(synced=synced, stored_user_ids=stored_user_ids, now=now)


def _sync_roles(*, synced, stored_user_ids):
    with_roles = [(user, payload["roles"]) for user, payload, _ in synced if "roles" in payload]
    if not with_roles:
        return
    held = {}
    targets = {user.pk for user, _ in with_roles}
    wanted_stored = [pk for pk in stored_user_ids if pk in targets]
    if wanted_stored:
        for assignment_id, user_id, role in CommerceUserRoleAssignment.objects.filter(
            commerce_user_id__in=wanted_stored
        ).values_list("id", "commerce_user_id", "role"):
            held.setdefault(user_id, {})[role] = assignment_id
    removed, added = [], []
    for user, roles in with_roles:
        current = held.get(user.pk, {})
        removed += [assignment_id for role, assignment_id in current.items() if role not in roles]
        added += [CommerceUserRoleAssignment(commerce_user=user, role=role) for role in roles if role not in current]
    if removed:
        CommerceUserRoleAssignment.objects.filter(pk__in=removed).delete()
    if added:
        CommerceUserRoleAssignment.objects.bulk_create(added)


def _sync_contacts(*, synced, stored_user_ids, now):
    with_contacts = [(user, payload["contacts"]) for user, payload, _ in synced if payload.get("contacts")]
    if not with_contacts:
        return
    stored = {}
    targets = {user.pk for user, _ in with_contacts}
    wanted_stored = [pk for pk in stored_user_ids if pk in targets]
    if wanted_stored:
        for contact in Contact.objects.filter(commerce_user_id__in=wanted_stored):
            stored.setdefault(contact.commerce_user_id, {})[(contact.contact_type, contact.value)] = contact
    created, updated = [], []
    for user, contacts in with_contacts:
        by_key = stored.get(user.pk, {})
        primary_types = {contact["contact_type"] for contact in contacts if contact.get("is_primary")}
        touched = set()
        for payload in contacts:
            values = {key: payload[key] for key in ("is_primary", "is_active") if key in payload}
            current = by_key.get((payload["contact_type"], payload["value"]))
            if current is None:
                created.append(Contact(commerce_user=user, contact_type=payload["contact_type"],
                                       value=payload["value"], source=Source.INTEGRATION, **values))
            else:
                touched.add(current.pk)
                if _apply(current, values):
                    updated.append(current)
        for current in by_key.values():
            if current.pk not in touched and current.is_primary and current.contact_type in primary_types:
                current.is_primary = False
                updated.append(current)
    demoted = [contact for contact in updated if not contact.is_primary]
    promoted = [contact for contact in updated if contact.is_primary]
    _write(Contact, created=created, updated=promoted, demoted=demoted, now=now, fields=["is_primary", "is_active"])


# --- operators ----------------------------------------------------------------------------------------------


def _clean_operator_fields(data):
    fields = {key: data[key] for key in OPERATOR_FIELDS if key in data}
    if "email" in fields:
        fields["email"] = _blank_to_none(fields["email"])
        fields["email"] = fields["email"].lower() if fields["email"] else None
    if fields.get("phone"):
        try:
            fields["phone"] = phone_clean(fields["phone"])
        except ValueError as exc:
            _fail({"phone": [str(exc)]})
    return fields


def _check_operator_unique(*, tenant, email=None, type_and_external_id=None, exclude_id=None):
    others = Operator.objects.for_tenant(tenant).exclude(pk=exclude_id)
    if email and others.filter(email=email).exists():
        _conflict("email", f"An operator with email {email!r} already exists in this tenant")
    if type_and_external_id:
        operator_type, external_id = type_and_external_id
        if others.filter(type=operator_type, external_id=external_id).exists():
            _conflict("external_id",
                      f"A {operator_type} operator with external_id {external_id!r} already exists in this tenant")


@transaction.atomic
def operator_create(*, tenant, data):
    fields = _clean_operator_fields(data)
    _check_operator_unique(tenant=tenant, email=fields.get("email"),
                           type_and_external_id=(fields["type"], fields["external_id"]))
    operator = Operator(tenant=tenant, metadata=merge_metadata({}, data.get("metadata")), **fields)
    return _save_or_conflict(operator, "An operator with this email or type and external_id already exists")


@transaction.atomic
def operator_update(*, operator, data):
    """Change the fields sent; `metadata` is merged key by key."""
    operator = Operator.objects.select_for_update().select_related("tenant").get(pk=operator.pk)
    changes = _clean_operator_fields(data)
    if "metadata" in data:
        changes["metadata"] = merge_metadata(operator.metadata, data["metadata"])
    changes = {key: value for key, value in changes.items() if getattr(operator, key) != value}
    if not changes:
        return operator
    identity = None
    if "type" in changes or "external_id" in changes:
        identity = (changes.get("type", operator.type), changes.get("external_id", operator.external_id))
    _check_operator_unique(tenant=operator.tenant, email=changes.get("email"), type_and_external_id=identity,
                           exclude_id=operator.pk)
    for key, value in changes.items():
        setattr(operator, key, value)
    return _save_or_conflict(operator, "An operator with this email or type and external_id already exists",
                             update_fields=[*changes, "updated_at"])


def _validate_operator_items(items):
    problems, identities, emails = {}, {}, {}
    for index, item in enumerate(items):
        path = f"items.{index}"
        identity = (item["type"], item["external_id"])
        if identity in identities:
            problems[f"{path}.external_id"] = [
                f"Duplicate {identity[0]} external_id {identity[1]!r} in this request "
                f"(also items.{identities[identity]})."
            ]
        identities.setdefault(identity, index)
        if "email" in item:
            item["email"] = (_blank_to_none(item["email"]) or "").lower() or None
            if item["email"]:
                if item["email"] in emails:
                    problems[f"{path}.email"] = [
                        f"Duplicate email {item['email']!r} in this request (also items.{emails[item['email']]})."
                    ]
                emails.setdefault(item["email"], index)
        if item.get("phone"):
            try:
                item["phone"] = phone_clean(item["phone"])
            except ValueError as exc:
                problems[f"{path}.phone"] = [str(exc)]
    if problems:
        _fail(problems)
    return emails


def operator_sync(*, tenant, items):
    """Upsert up to 1,000 operators on `type` + `external_id`; all or nothing; `metadata` merged key by key."""
    try:
        return _operator_sync(tenant=tenant, items=items)
    except IntegrityError:
        raise errors.Conflict("A concurrent change to the same records conflicted with this sync; nothing was "
                              "written. Retry the request.") from None


@transaction.atomic
def _operator_sync(*, tenant, items):
    _check_batch_size(items)
    emails = _validate_operator_items(items)
    identities = {(item["type"], item["external_id"]) for item in items}
    existing = {
        (operator.type, operator.external_id): operator
        for operator in Operator.objects.for_tenant(tenant).filter(
            type__in={operator_type for operator_type, _ in identities},
            external_id__in={external_id for _, external_id in identities},
        ).select_for_update()
        if (operator.type, operator.external_id) in identities
    }
    if emails:
        conflicts = {}
        for operator_type, external_id, email in Operator.objects.for_tenant(tenant).filter(
            email__in=list(emails)
        ).values_list("type", "external_id", "email"):
            item = items[emails[email]]
            if (operator_type, external_id) != (item["type"], item["external_id"]):
                conflicts[f"items.{emails[email]}.email"] = [
                    f"email {email!r} already belongs to the {operator_type} operator {external_id!r}."
                ]
        if conflicts:
            field, problems = next(iter(conflicts.items()))
            raise errors.Conflict(f"{field}: {problems[0]}", details=conflicts)
    now = timezone.now()
    created, updated = [], []
    for item in items:
        values = {key: item[key] for key in OPERATOR_FIELDS if key in item}
        operator = existing.get((item["type"], item["external_id"]))
        if operator is None:
            created.append(Operator(tenant=tenant, metadata=merge_metadata({}, item.get("metadata")), **values))
            continue
        if "metadata" in item:
            values["metadata"] = merge_metadata(operator.metadata, item["metadata"])
        if _apply(operator, values):
            updated.append(operator)
    _write(Operator, created=created, updated=updated, now=now,
           fields=["name", "email", "phone", "is_active", "is_placeholder", "metadata"])
    return SyncResult(created=len(created), updated=len(existing))


# --- routes -------------------------------------------------------------------------------------------------


@transaction.atomic
def route_create(*, tenant, data):
    fields = {key: data[key] for key in ROUTE_FIELDS if key in data}
    if Route.objects.for_tenant(tenant).filter(code=fields["code"]).exists():
        _conflict("code", f"A route with code {fields['code']!r} already exists in this tenant")
    return _save_or_conflict(Route(tenant=tenant, **fields), "A route with this code already exists")


@transaction.atomic
def route_operator_assign(*, route, operator, role=None):
    """Put an operator on a route (idempotent). Returns (link, created); an inactive link is reactivated and
    `role`, when given, replaces the link's role."""
    if operator.tenant_id != route.tenant_id:
        raise errors.NotFound("Operator not found")
    link = RouteOperator.objects.select_for_update().filter(route=route, operator=operator).first()
    if link is None:
        link = RouteOperator(route=route, operator=operator, role=role or RouteOperatorRole.MEMBER)
        return _save_or_conflict(link, "This operator was just assigned to the route; retry"), True
    changes = {"is_active": True, **({"role": role} if role else {})}
    if _apply(link, changes):
        link.save(update_fields=[*changes, "updated_at"])
    return link, False


@transaction.atomic
def route_operator_remove(*, route, operator_id):
    """Take an operator off a route: the link is kept, inactive, so a later assignment reactivates it."""
    link = RouteOperator.objects.select_for_update().filter(route=route, operator_id=operator_id,
                                                            is_active=True).first()
    if link is None:
        raise errors.NotFound("This operator is not on the route")
    link.is_active = False
    link.save(update_fields=["is_active", "updated_at"])
    return link
