"""POST /api/commerces/sync: up to SYNC_MAX_ITEMS commerces with their addresses, users and contacts, all or nothing."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from commerces.models import (
    Address,
    Commerce,
    CommerceUser,
    CommerceUserRoleAssignment,
    Contact,
    Source,
)
from commerces.services.addresses import clean_address_fields
from commerces.services.common import (
    ADDRESS_FIELDS,
    ADDRESS_IDENTITY_FIELDS,
    COMMERCE_FIELDS,
    SyncResult,
    apply_values,
    blank_to_none,
    check_batch_size,
    fail,
    merge_metadata,
    write_rows,
)
from commerces.services.people import clean_contacts
from reten import errors


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
            item["tax_id"] = blank_to_none(item["tax_id"])
            if item["tax_id"] is not None:
                if item["tax_id"] in tax_ids:
                    problems[f"{path}.tax_id"] = [
                        f"Duplicate tax_id {item['tax_id']!r} in this request (also items.{tax_ids[item['tax_id']]})."
                    ]
                tax_ids.setdefault(item["tax_id"], index)
        if "global_external_id" in item:
            item["global_external_id"] = blank_to_none(item["global_external_id"])
        primary_address, address_keys = None, {}
        for position, address in enumerate(item.get("addresses") or ()):
            address_path = f"{path}.addresses.{position}"
            address.update(clean_address_fields(address))
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
            problems.update(clean_contacts(user.get("contacts") or [], prefix=f"{user_path}.contacts"))
    if problems:
        fail(problems)
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
    check_batch_size(items)
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
            if apply_values(commerce, values):
                updated.append(commerce)
        commerces.append(commerce)
    write_rows(Commerce, created=created, updated=updated, now=now, fields=[*COMMERCE_FIELDS[1:], "metadata"])

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
                if apply_values(current, values):
                    updated.append(current)
        if any(address.get("is_primary") for address in addresses):
            for current in by_key.values():
                if current.pk not in matched and current.is_primary:
                    current.is_primary = False
                    demoted.append(current)
    # A stored primary that the request demotes must be written before the new primary.
    demoted += [address for address in updated if not address.is_primary]
    updated = [address for address in updated if address.is_primary]
    write_rows(Address, created=created, updated=updated, demoted=demoted, now=now, fields=ADDRESS_FIELDS)


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
            elif apply_values(user, values):
                updated.append(user)
            synced.append((user, payload, was_stored))
    write_rows(CommerceUser, created=created, updated=updated, now=now,
               fields=["first_name", "last_name", "is_active"])
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
                if apply_values(current, values):
                    updated.append(current)
        for current in by_key.values():
            if current.pk not in touched and current.is_primary and current.contact_type in primary_types:
                current.is_primary = False
                updated.append(current)
    demoted = [contact for contact in updated if not contact.is_primary]
    promoted = [contact for contact in updated if contact.is_primary]
    write_rows(Contact, created=created, updated=promoted, demoted=demoted, now=now,
               fields=["is_primary", "is_active"])
