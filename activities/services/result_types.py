"""The tenant's task result types (SPEC 6.3): the codes a result's `task_result.result` may name."""
from django.db import IntegrityError, transaction

from activities.models import TaskResultType
from reten import errors

RESULT_TYPE_FIELDS = ("code", "label", "requires_future_scheduled_at", "creates_follow_up", "is_active")


def _check_rules(result_type: TaskResultType) -> None:
    if result_type.creates_follow_up and not result_type.requires_future_scheduled_at:
        raise errors.ValidationFailed.of(
            {"creates_follow_up": ["A type that creates a follow-up must require future_scheduled_at."]})


def _save(result_type: TaskResultType) -> TaskResultType:
    _check_rules(result_type)
    taken = TaskResultType.objects.for_tenant(result_type.tenant).filter(code=result_type.code)
    if taken.exclude(pk=result_type.pk).exists():
        raise errors.Conflict(f"A task result type with code {result_type.code} already exists",
                              details={"code": ["Must be unique."]})
    try:
        with transaction.atomic():
            result_type.save()
    except IntegrityError:  # a concurrent write took the code
        raise errors.Conflict(f"A task result type with code {result_type.code} already exists",
                              details={"code": ["Must be unique."]}) from None
    return result_type


def task_result_type_create(*, tenant, data: dict) -> TaskResultType:
    result_type = TaskResultType(tenant=tenant)
    for name in RESULT_TYPE_FIELDS:
        if name in data:
            setattr(result_type, name, data[name])
    return _save(result_type)


def task_result_type_update(*, result_type: TaskResultType, data: dict) -> TaskResultType:
    for name in RESULT_TYPE_FIELDS:
        if name in data:
            setattr(result_type, name, data[name])
    return _save(result_type)
