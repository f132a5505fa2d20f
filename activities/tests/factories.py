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
