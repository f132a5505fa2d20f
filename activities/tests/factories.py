"""Activities built the way the product builds them: through the creation service."""
import itertools
from datetime import UTC, datetime

import factory
from django.utils.dateparse import parse_datetime

from activities.models import AttributePolicy, TargetResolutionConfig, UserRetentionStatus
from activities.services import activity_create
from commerces.models import CommerceUserRole, ContactType
from commerces.tests.factories import CommerceFactory, CommerceUserFactory, ContactFactory
from tenants.actors import SYSTEM

SCHEDULED_AT = datetime(2025, 1, 16, 9, 0, tzinfo=UTC)
_keys = itertools.count(1)


def create_body(commerce, **overrides):
    """A valid MESSAGE create body (as validated data) for `commerce`."""
    body = {
        "type": "MESSAGE",
        "reason": "Win back",
        "channel": "WHATSAPP",
        "commerce_id": commerce.pk,
        "idempotency_key": f"key-{next(_keys)}",
        "scheduled_at": SCHEDULED_AT,
    }
    body.update(overrides)
    if isinstance(body["scheduled_at"], str):  # as the API's serializer would hand it over
        body["scheduled_at"] = parse_datetime(body["scheduled_at"])
    return body


def make_activity(commerce, *, actor=SYSTEM, **overrides):
    """An activity created by the creation service (resolution included)."""
    return activity_create(tenant=commerce.tenant, actor=actor, data=create_body(commerce, **overrides)).activity


def reachable_user(commerce, *roles, contact_type=ContactType.PHONE, **fields):
    """A commerce user with `roles` and one active contact of `contact_type`."""
    user = CommerceUserFactory(commerce=commerce, roles=list(roles), **fields)
    value = "someone@example.com" if contact_type == ContactType.EMAIL else None
    ContactFactory(commerce_user=user, contact_type=contact_type, **({"value": value} if value else {}))
    return user


def commerce_with_rep(tenant, **fields):
    """A commerce whose COMMERCE_REP is reachable by phone (WHATSAPP, SMS, CALLCENTER, SALESMAN, PUSH)."""
    commerce = CommerceFactory(tenant=tenant, **fields)
    reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    return commerce


class TargetResolutionConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetResolutionConfig

    priority = factory.Sequence(int)
    criteria = factory.LazyFunction(list)


class AttributePolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttributePolicy


class UserRetentionStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserRetentionStatus

    code = factory.Sequence(lambda n: f"STATUS_{n}")
    label = factory.Sequence(lambda n: f"Status {n}")


def set_status(activity, status):
    """Put an activity in `status` for a test (a direct UPDATE, as no service would); returns it re-read."""
    from activities.models import Activity

    Activity.objects.filter(pk=activity.pk).update(status=status)
    return Activity.objects.get(pk=activity.pk)


def activity_in(commerce, status, **overrides):
    return set_status(make_activity(commerce, **overrides), status)


# --- results ----------------------------------------------------------------------------------------------------

class TaskResultTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "activities.TaskResultType"

    code = factory.Sequence(lambda n: f"RESULT_{n}")
    label = factory.Sequence(lambda n: f"Result {n}")


def make_task(commerce, *, route, operator, **overrides):
    """A TASK (SALESMAN) created by the creation service."""
    fields = {"type": "TASK", "channel": "SALESMAN", "assigned_route_id": route.pk,
              "assigned_operator_id": operator.pk, **overrides}
    return make_activity(commerce, **fields)


def dispatched_task(commerce, *, route, operator, provider_activity_id=None, **overrides):
    """A TASK a provider accepted (as the dispatcher leaves it), with a provider id."""
    from activities.models import Activity

    activity = make_task(commerce, route=route, operator=operator, **overrides)
    Activity.objects.filter(pk=activity.pk).update(
        status="DISPATCHED", provider_activity_id=provider_activity_id or f"prov-{activity.pk.hex[:10]}")
    return Activity.objects.get(pk=activity.pk)


def result_body(activity=None, *, code="VISITED", status="COMPLETED", occurred_at="2025-01-16T12:00:00Z",
                commerce=None, **overrides):
    """A task result body as a provider posts it (JSON, snake_case)."""
    body = {
        "commerce_external_id": (commerce or activity.commerce_assignment.commerce).external_id,
        "occurred_at": occurred_at,
        "status": status,
        "task_result": {"result": code},
    }
    if activity is not None:
        body["activity_id"] = str(activity.pk)
    body.update(overrides)
    return body
