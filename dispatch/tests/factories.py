"""Test data for dispatch: providers, configs, commerces with reachable people, and due activities."""
import itertools
import uuid
from datetime import timedelta

from django.utils import timezone

from activities.models import (
    Activity,
    ActivityType,
    Channel,
    CommerceAssignment,
    ResolutionStrategy,
    TargetResolutionStatus,
    TargetUser,
    TaskDetails,
)
from commerces.models import Commerce, CommerceUser, Contact, Operator, OperatorType, Route
from dispatch.models import ChannelDefinition, DispatchProvider, ProtocolType
from dispatch.services import dispatch_config_create

API_KEY_SCHEMA = [{"key": "apiKey", "label": "API key", "type": "password", "required": True}]
_sequence = itertools.count(1)


def provider(*, code=None, protocol_type=ProtocolType.REST, channels=tuple(Channel.values),
             credential_schema=None, settings_schema=None, is_active=True):
    created = DispatchProvider.objects.create(code=code or f"STUB{next(_sequence)}", name="Stub provider",
                                              protocol_type=protocol_type, is_active=is_active)
    for channel in channels:
        ChannelDefinition.objects.create(
            provider=created, channel=channel,
            credential_schema=API_KEY_SCHEMA if credential_schema is None else credential_schema,
            settings_schema=settings_schema or [],
        )
    return created


def default_provider(channel):
    """YOM where it serves the channel, else a generic REST provider that needs an apiKey on every channel."""
    if channel in (Channel.SALESMAN, Channel.CALLCENTER):
        return DispatchProvider.objects.get(code="YOM")
    existing = DispatchProvider.objects.filter(code="STUBREST").first()
    return existing or provider(code="STUBREST")


def config(tenant, *, channel=Channel.SMS, base_url="http://127.0.0.1:9", provider_obj=None,
           credentials=None, settings=None):
    provider_obj = provider_obj or default_provider(channel)
    if credentials is None:
        credentials = {"apiKey": "sk_live_test_secret_value_123"} if any(
            item.get("required") for definition in provider_obj.channel_definitions.filter(channel=channel)
            for item in definition.credential_schema) else {}
    return dispatch_config_create(tenant=tenant, dispatch_provider_id=provider_obj.pk, channel=channel,
                                  base_url=base_url, credentials=credentials, settings=settings or {})


def commerce_with_person(tenant, *, contacts=(("PHONE", "+56911112222"), ("EMAIL", "rosa@example.com"),
                                              ("WHATSAPP", "+56933334444"))):
    n = next(_sequence)
    commerce = Commerce.objects.create(tenant=tenant, external_id=f"C-{n}", name=f"Almacen {n}", tax_id=f"76.{n}-K")
    person = CommerceUser.objects.create(commerce=commerce, external_id=f"U-{n}", first_name="Rosa",
                                         last_name=f"Perez {n}")
    for contact_type, value in contacts:
        Contact.objects.create(commerce_user=person, contact_type=contact_type, value=value, is_primary=True)
    return commerce, person


def route_and_operator(tenant):
    n = next(_sequence)
    route = Route.objects.create(tenant=tenant, code=f"R-{n}", name=f"Route {n}")
    operator = Operator.objects.create(tenant=tenant, type=OperatorType.SALESMAN, name=f"Operator {n}",
                                       external_id=f"OP-{n}", email=f"op{n}@example.com")
    return route, operator


def activity(tenant, *, channel=Channel.SMS, type=ActivityType.MESSAGE, scheduled_at=None, score=None,
             commerce=None, person=None, strategy=ResolutionStrategy.ON_CREATION, pending=False):
    if commerce is None:
        commerce, person = commerce_with_person(tenant)
    created = Activity.objects.create(
        tenant=tenant, type=type, channel=channel, reason="Visit to renew the promotion",
        idempotency_key=f"key-{uuid.uuid4()}", score=score,
        scheduled_at=scheduled_at or timezone.now() - timedelta(minutes=1),
    )
    CommerceAssignment.objects.create(activity=created, commerce=commerce, assigned_at=timezone.now())
    if type == ActivityType.TASK:
        route, operator = route_and_operator(tenant)
        TaskDetails.objects.create(activity=created, route=route, operator=operator)
    if pending:
        TargetUser.objects.create(activity=created, resolution_strategy=ResolutionStrategy.ON_DISPATCH,
                                  resolution_status=TargetResolutionStatus.PENDING)
    elif person is not None:
        TargetUser.objects.create(activity=created, commerce_user=person, resolution_strategy=strategy,
                                  resolution_status=TargetResolutionStatus.RESOLVED, resolved_at=timezone.now())
    return created


def due_activities(tenant, count, *, channel=Channel.SMS, scheduled_at=None, type=ActivityType.MESSAGE):
    """`count` due activities for one commerce and person, created in bulk. Returns their ids."""
    commerce, person = commerce_with_person(tenant)
    now = timezone.now()
    base = scheduled_at or now - timedelta(minutes=5)
    activities = [
        Activity(tenant=tenant, type=type, channel=channel, reason=f"Bulk activity {index}",
                 idempotency_key=f"bulk-{uuid.uuid4()}", scheduled_at=base + timedelta(milliseconds=index))
        for index in range(count)
    ]
    Activity.objects.bulk_create(activities, batch_size=1000)
    CommerceAssignment.objects.bulk_create(
        [CommerceAssignment(activity=item, commerce=commerce, assigned_at=now) for item in activities],
        batch_size=1000)
    TargetUser.objects.bulk_create(
        [TargetUser(activity=item, commerce_user=person, resolution_status=TargetResolutionStatus.RESOLVED,
                    resolved_at=now) for item in activities], batch_size=1000)
    return [item.pk for item in activities]
