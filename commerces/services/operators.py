"""Operators (field salesmen, activators, call-center agents) and their all-or-nothing sync."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from commerces.models import (
    Operator,
)
from commerces.services.common import (
    OPERATOR_FIELDS,
    SyncResult,
    apply_values,
    blank_to_none,
    check_batch_size,
    conflict,
    fail,
    merge_metadata,
    phone_clean,
    save_or_conflict,
    write_rows,
)
from reten import errors


def _clean_operator_fields(data):
    fields = {key: data[key] for key in OPERATOR_FIELDS if key in data}
    if "external_id" in fields:
        fields["external_id"] = blank_to_none(fields["external_id"])
    if "email" in fields:
        fields["email"] = blank_to_none(fields["email"])
        fields["email"] = fields["email"].lower() if fields["email"] else None
    if fields.get("phone"):
        try:
            fields["phone"] = phone_clean(fields["phone"])
        except ValueError as exc:
            fail({"phone": [str(exc)]})
    return fields


def _check_operator_unique(*, tenant, email=None, type_and_external_id=None, exclude_id=None):
    others = Operator.objects.for_tenant(tenant).exclude(pk=exclude_id)
    if email and others.filter(email=email).exists():
        conflict("email", f"An operator with email {email!r} already exists in this tenant")
    if type_and_external_id and type_and_external_id[1] is not None:  # operators without one never collide
        operator_type, external_id = type_and_external_id
        if others.filter(type=operator_type, external_id=external_id).exists():
            conflict("external_id",
                      f"A {operator_type} operator with external_id {external_id!r} already exists in this tenant")


@transaction.atomic
def operator_create(*, tenant, data):
    fields = _clean_operator_fields(data)
    _check_operator_unique(tenant=tenant, email=fields.get("email"),
                           type_and_external_id=(fields["type"], fields.get("external_id")))
    operator = Operator(tenant=tenant, metadata=merge_metadata({}, data.get("metadata")), **fields)
    return save_or_conflict(operator, "An operator with this email or type and external_id already exists")


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
    return save_or_conflict(operator, "An operator with this email or type and external_id already exists",
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
            item["email"] = (blank_to_none(item["email"]) or "").lower() or None
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
        fail(problems)
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
    check_batch_size(items)
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
        if apply_values(operator, values):
            updated.append(operator)
    write_rows(Operator, created=created, updated=updated, now=now,
           fields=["name", "email", "phone", "is_active", "is_placeholder", "metadata"])
    return SyncResult(created=len(created), updated=len(existing))
