"""The people of a commerce: commerce users, their roles and their contacts (one primary per type)."""

from django.db import transaction
from django.utils import timezone

from commerces.models import (
    CommerceUser,
    CommerceUserRole,
    CommerceUserRoleAssignment,
    Contact,
    Source,
)
from commerces.services.common import (
    COMMERCE_USER_FIELDS,
    blank_to_none,
    conflict,
    contact_value_clean,
    fail,
    save_or_conflict,
)
from reten import errors


def clean_contacts(contacts, prefix="contacts"):
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
        fail({field: [f"{unknown[0]!r} is not one of {', '.join(CommerceUserRole.values)}."]})
    return list(dict.fromkeys(roles))


@transaction.atomic
def commerce_user_create(*, commerce, data):
    """A person at the store, with optional `roles` and `contacts` (validated per type)."""
    fields = {key: data[key] for key in COMMERCE_USER_FIELDS if key in data}
    fields["external_id"] = blank_to_none(fields.get("external_id"))
    roles = _clean_role_list(data.get("roles") or [])
    contacts = [dict(contact) for contact in data.get("contacts") or []]
    problems = clean_contacts(contacts)
    if problems:
        fail(problems)
    if fields["external_id"] and CommerceUser.objects.filter(commerce=commerce,
                                                             external_id=fields["external_id"]).exists():
        conflict("external_id", f"This commerce already has a user with external_id {fields['external_id']!r}")
    user = save_or_conflict(CommerceUser(commerce=commerce, **fields),
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
        changes["external_id"] = blank_to_none(changes["external_id"])
    changes = {key: value for key, value in changes.items() if getattr(user, key) != value}
    if not changes:
        return user
    if changes.get("external_id") and CommerceUser.objects.filter(
        commerce_id=user.commerce_id, external_id=changes["external_id"]
    ).exclude(pk=user.pk).exists():
        conflict("external_id", f"This commerce already has a user with external_id {changes['external_id']!r}")
    for key, value in changes.items():
        setattr(user, key, value)
    return save_or_conflict(user, "This commerce already has a user with this external_id",
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
        conflict("value", f"This user already has the {contact.contact_type} contact {contact.value!r}")
    return contact_save(contact=contact)


def _clean_contact_value(contact):
    try:
        contact.value = contact_value_clean(contact.contact_type, contact.value)
    except ValueError as exc:
        fail({"value": [str(exc)]})


@transaction.atomic
def contact_save(*, contact):
    """Save a contact (API or admin): its value is checked for its type, and when it is primary the user's
    previous primary of that type is demoted."""
    _clean_contact_value(contact)
    if contact.is_primary:
        _demote_other_primary_contacts(contact)
    return save_or_conflict(contact, "This user already has this contact")
