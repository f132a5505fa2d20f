"""Resolution at creation (SPEC 4.5): each criterion, the fallbacks, the channel-contact rule, each resolver,
caller values and fallback values."""
import os

import pytest

from activities.models import (
    Activity,
    ActivityStatus,
    AttributeKey,
    AttributeResolutionStatus,
    AttributeStrategy,
    LockReason,
    ResolutionStrategy,
    ResolverType,
    StatusEvent,
    TargetResolutionStatus,
)
from activities.resolution import attributes as attribute_resolvers
from activities.resolution import targets as target_criteria
from activities.services.events import record_status_event
from activities.tests.factories import (
    AttributePolicyFactory,
    TargetResolutionConfigFactory,
    make_activity,
    reachable_user,
    set_status,
)
from commerces.models import CommerceUserRole, ContactType
from commerces.tests.factories import AddressFactory, CommerceFactory, CommerceUserFactory, ContactFactory
from tenants.actors import SYSTEM

ROLE_MATCH_ORDERS = [{"type": "ROLE_MATCH", "config": {"role": "ORDERS"}, "priority": 0}]


def target_of(activity):
    return activity.target_users.get()


def failure_message(activity):
    return StatusEvent.objects.get(activity=activity, event_type="RESOLUTION_FAILED").error_message


def test_registries_list_every_criterion_and_resolver():
    assert set(target_criteria.CRITERIA) == {"ROLE_MATCH", "LAST_CONTACTED_SAME_CHANNEL",
                                             "LAST_CONTACTED_ALL_CHANNELS"}
    assert set(attribute_resolvers.RESOLVERS) == {"INTERNAL_SERVICE", "CLIENT_HOOK"}
    assert {"commerce_info", "promotions"} <= set(attribute_resolvers.INTERNAL_RESOLVERS)


# --- target users -------------------------------------------------------------------------------------------------

def test_role_match_picks_the_user_with_the_configured_role(tenant):
    commerce = CommerceFactory(tenant=tenant)
    reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    orders = reachable_user(commerce, CommerceUserRole.ORDERS)
    activity = make_activity(commerce, target_criteria=ROLE_MATCH_ORDERS)
    target = target_of(activity)
    assert (target.commerce_user, target.lock_reason, target.resolution_status) == (
        orders, LockReason.CRITERIA_MATCH, TargetResolutionStatus.RESOLVED)
    assert target.resolved_at is not None and activity.status == ActivityStatus.READY


def _contacted(commerce, user, channel, key):
    """A DISPATCHED activity that targeted `user` on `channel`."""
    activity = make_activity(commerce, channel=channel, idempotency_key=key,
                             target_criteria=[{"type": "ROLE_MATCH", "config": {"role": "OTHER"}, "priority": 0}])
    activity.target_users.update(commerce_user=user)
    return set_status(activity, ActivityStatus.DISPATCHED)


def test_last_contacted_same_channel_picks_who_was_last_targeted_on_this_channel(tenant):
    commerce = CommerceFactory(tenant=tenant)
    rep = reachable_user(commerce, CommerceUserRole.COMMERCE_REP, CommerceUserRole.OTHER)
    anna = reachable_user(commerce)
    bob = reachable_user(commerce)
    _contacted(commerce, anna, "WHATSAPP", "old-whatsapp")
    _contacted(commerce, bob, "SMS", "newer-sms")
    criteria = [{"type": "LAST_CONTACTED_SAME_CHANNEL", "config": {}, "priority": 0}]
    assert target_of(make_activity(commerce, channel="WHATSAPP", target_criteria=criteria)).commerce_user == anna
    assert target_of(make_activity(commerce, channel="SMS", target_criteria=criteria)).commerce_user == bob
    # Nobody was contacted by e-mail: the criterion finds nobody and the fallback (the rep) takes over.
    target = target_of(make_activity(commerce, channel="PUSH", target_criteria=criteria))
    assert (target.commerce_user, target.lock_reason) == (rep, LockReason.FALLBACK_COMMERCE_REP)


def test_last_contacted_all_channels_picks_the_most_recent_on_any_channel(tenant):
    commerce = CommerceFactory(tenant=tenant)
    anna = reachable_user(commerce)
    bob = reachable_user(commerce)
    first = _contacted(commerce, anna, "WHATSAPP", "first")
    second = _contacted(commerce, bob, "SMS", "second")
    Activity.objects.filter(pk=first.pk).update(dispatched_at="2025-01-01T00:00:00Z")
    Activity.objects.filter(pk=second.pk).update(dispatched_at="2025-02-01T00:00:00Z")
    criteria = [{"type": "LAST_CONTACTED_ALL_CHANNELS", "config": {}, "priority": 0}]
    target = target_of(make_activity(commerce, channel="CALLCENTER", target_criteria=criteria))
    assert (target.commerce_user, target.lock_reason) == (bob, LockReason.CRITERIA_MATCH)


def test_last_contacted_ignores_activities_that_were_never_sent(tenant):
    commerce = CommerceFactory(tenant=tenant)
    owner = reachable_user(commerce, CommerceUserRole.OWNER)
    anna = reachable_user(commerce)
    canceled = _contacted(commerce, anna, "WHATSAPP", "canceled")
    set_status(canceled, ActivityStatus.CANCELED)
    criteria = [{"type": "LAST_CONTACTED_ALL_CHANNELS", "config": {}, "priority": 0}]
    target = target_of(make_activity(commerce, target_criteria=criteria))
    assert (target.commerce_user, target.lock_reason) == (owner, LockReason.FALLBACK_OWNER)


def test_criteria_are_tried_in_priority_order(tenant):
    commerce = CommerceFactory(tenant=tenant)
    orders = reachable_user(commerce, CommerceUserRole.ORDERS)
    finance = reachable_user(commerce, CommerceUserRole.FINANCE)
    criteria = [{"type": "ROLE_MATCH", "config": {"role": "ORDERS"}, "priority": 5},
                {"type": "ROLE_MATCH", "config": {"role": "FINANCE"}, "priority": 1}]
    assert target_of(make_activity(commerce, target_criteria=criteria)).commerce_user == finance
    criteria[0]["priority"] = 0
    assert target_of(make_activity(commerce, target_criteria=criteria)).commerce_user == orders


def test_fallback_to_the_commerce_rep_comes_before_the_owner(tenant):
    commerce = CommerceFactory(tenant=tenant)
    reachable_user(commerce, CommerceUserRole.OWNER)
    rep = reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    target = target_of(make_activity(commerce, target_criteria=ROLE_MATCH_ORDERS))
    assert (target.commerce_user, target.lock_reason) == (rep, LockReason.FALLBACK_COMMERCE_REP)


def test_fallback_to_the_owner_when_there_is_no_reachable_rep(tenant):
    commerce = CommerceFactory(tenant=tenant)
    CommerceUserFactory(commerce=commerce, roles=[CommerceUserRole.COMMERCE_REP])  # no contact at all
    owner = reachable_user(commerce, CommerceUserRole.OWNER)
    target = target_of(make_activity(commerce))
    assert (target.commerce_user, target.lock_reason) == (owner, LockReason.FALLBACK_OWNER)


def test_disabled_fallbacks_leave_the_activity_unresolved(tenant):
    commerce = CommerceFactory(tenant=tenant)
    reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    TargetResolutionConfigFactory(tenant=tenant, criteria=ROLE_MATCH_ORDERS, fallback_to_commerce_rep=False,
                                  fallback_to_owner=False)
    activity = make_activity(commerce)
    assert activity.status == ActivityStatus.UNRESOLVED
    target = target_of(activity)
    assert (target.resolution_status, target.commerce_user) == (TargetResolutionStatus.FAILED, None)
    assert failure_message(activity) == "target user 1 (ON_CREATION): no reachable commerce user matched (ROLE_MATCH)"


def test_each_active_config_yields_one_target_user_in_priority_order(tenant):
    commerce = CommerceFactory(tenant=tenant)
    rep = reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    orders = reachable_user(commerce, CommerceUserRole.ORDERS)
    TargetResolutionConfigFactory(tenant=tenant, priority=2, criteria=ROLE_MATCH_ORDERS)
    TargetResolutionConfigFactory(tenant=tenant, priority=1)
    TargetResolutionConfigFactory(tenant=tenant, priority=0, is_active=False, criteria=ROLE_MATCH_ORDERS)
    activity = make_activity(commerce)
    assert [t.commerce_user for t in activity.target_users.order_by("position")] == [rep, orders]


def test_request_criteria_override_the_tenant_configuration(tenant):
    commerce = CommerceFactory(tenant=tenant)
    reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    orders = reachable_user(commerce, CommerceUserRole.ORDERS)
    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.MANUAL)
    activity = make_activity(commerce, target_criteria=ROLE_MATCH_ORDERS)
    assert activity.status == ActivityStatus.READY
    target = target_of(activity)
    assert (target.commerce_user, target.resolution_strategy) == (orders, ResolutionStrategy.ON_CREATION)


def test_on_dispatch_strategy_leaves_the_target_pending_and_the_activity_ready(tenant, commerce):
    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.ON_DISPATCH)
    activity = make_activity(commerce)
    assert activity.status == ActivityStatus.READY
    assert target_of(activity).resolution_status == TargetResolutionStatus.PENDING


USABLE = {
    "WHATSAPP": {ContactType.WHATSAPP, ContactType.PHONE},
    "SMS": {ContactType.PHONE},
    "CALLCENTER": {ContactType.PHONE},
    "EMAIL": {ContactType.EMAIL},
    "SALESMAN": set(ContactType.values),
    "PUSH": set(ContactType.values),
}


@pytest.mark.parametrize("channel", list(USABLE))
@pytest.mark.parametrize("contact_type", ContactType.values)
def test_a_target_needs_an_active_contact_usable_on_the_channel(tenant, channel, contact_type):
    commerce = CommerceFactory(tenant=tenant)
    rep = reachable_user(commerce, CommerceUserRole.COMMERCE_REP, contact_type=contact_type)
    activity = make_activity(commerce, channel=channel)
    if contact_type in USABLE[channel]:
        assert target_of(activity).commerce_user == rep
        assert activity.status == ActivityStatus.READY
    else:
        assert target_of(activity).commerce_user is None
        assert activity.status == ActivityStatus.UNRESOLVED
        assert failure_message(activity) == (
            f"target user 1 (ON_CREATION): no active commerce user has an active contact usable on {channel}")


def test_inactive_contacts_and_inactive_users_do_not_count(tenant):
    commerce = CommerceFactory(tenant=tenant)
    rep = CommerceUserFactory(commerce=commerce, roles=[CommerceUserRole.COMMERCE_REP])
    ContactFactory(commerce_user=rep, contact_type=ContactType.PHONE, is_active=False)
    owner = CommerceUserFactory(commerce=commerce, roles=[CommerceUserRole.OWNER], is_active=False)
    ContactFactory(commerce_user=owner, contact_type=ContactType.PHONE)
    activity = make_activity(commerce, channel="SMS")
    assert activity.status == ActivityStatus.UNRESOLVED
    assert "no active commerce user has an active contact usable on SMS" in failure_message(activity)


# --- attributes ---------------------------------------------------------------------------------------------------

def attribute_of(activity, key):
    return activity.attributes.get(attribute_key__key=key)


def test_commerce_info_is_name_tax_id_and_primary_address(tenant):
    commerce = CommerceFactory(tenant=tenant, tax_id="76.123.456-7", name="Almacén Rosa")
    reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    AddressFactory(commerce=commerce, is_primary=False, street="Other")
    AddressFactory(commerce=commerce, is_primary=True, street="Main", street_number="12", city="Santiago",
                   formatted_address="Main 12, Santiago", latitude="-33.45", longitude="-70.66")
    attribute = attribute_of(make_activity(commerce, attribute_keys=["commerce_info"]), "commerce_info")
    assert attribute.resolution_status == AttributeResolutionStatus.RESOLVED
    assert attribute.resolver_type == ResolverType.INTERNAL_SERVICE
    assert attribute.value == {
        "name": "Almacén Rosa", "taxId": "76.123.456-7",
        "address": {"formattedAddress": "Main 12, Santiago", "street": "Main", "streetNumber": "12", "unit": "",
                    "city": "Santiago", "commune": "", "region": "", "countryCode": "CL", "latitude": -33.45,
                    "longitude": -70.66},
    }


def test_promotions_come_from_the_commerce_metadata_or_are_empty(tenant):
    with_promos = CommerceFactory(tenant=tenant, metadata={"promotions": [{"code": "P1"}]})
    without = CommerceFactory(tenant=tenant)
    for commerce in (with_promos, without):
        reachable_user(commerce, CommerceUserRole.COMMERCE_REP)
    assert attribute_of(make_activity(with_promos, attribute_keys=["promotions"]), "promotions").value == [
        {"code": "P1"}]
    assert attribute_of(make_activity(without, attribute_keys=["promotions"]), "promotions").value == []


def test_a_key_without_an_internal_resolver_fails_and_leaves_the_activity_unresolved(commerce):
    activity = make_activity(commerce, attribute_keys=["last_order"])
    attribute = attribute_of(activity, "last_order")
    assert (attribute.resolution_status, attribute.error_message) == (
        AttributeResolutionStatus.FAILED, "no internal resolver for key last_order")
    assert activity.status == ActivityStatus.UNRESOLVED
    assert failure_message(activity) == "attribute last_order: no internal resolver for key last_order"


def test_a_caller_value_wins_over_any_resolver(commerce):
    activity = make_activity(commerce, attributes=[{"key": "promotions", "value": [{"code": "MINE"}]}])
    attribute = attribute_of(activity, "promotions")
    assert (attribute.value, attribute.resolution_status, attribute.resolver_type) == (
        [{"code": "MINE"}], AttributeResolutionStatus.RESOLVED, "CALLER_PROVIDED")


def test_caller_provided_policy_without_a_value_uses_the_fallback(tenant, commerce):
    AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                           strategy=AttributeStrategy.CALLER_PROVIDED)
    activity = make_activity(commerce, attributes=[{"key": "last_order", "fallback": {"days": None}}])
    attribute = attribute_of(activity, "last_order")
    assert (attribute.resolution_status, attribute.value, attribute.error_message) == (
        AttributeResolutionStatus.FALLBACK, {"days": None}, "the caller must provide this value")
    assert activity.status == ActivityStatus.READY


def test_caller_provided_policy_without_value_or_fallback_fails(tenant, commerce):
    AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                           strategy=AttributeStrategy.CALLER_PROVIDED)
    activity = make_activity(commerce, attribute_keys=["last_order"])
    assert activity.status == ActivityStatus.UNRESOLVED
    assert failure_message(activity) == "attribute last_order: the caller must provide this value"


@pytest.fixture
def hook_policy(tenant):
    def build(url):
        return AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                                      resolver_type=ResolverType.CLIENT_HOOK, hook_url=url)

    return build


def test_client_hook_posts_the_activity_and_stores_the_value(commerce, hook_server, hook_policy):
    hook_policy(hook_server.url("/value"))
    activity = make_activity(commerce, attribute_keys=["last_order"])
    attribute = attribute_of(activity, "last_order")
    assert (attribute.resolution_status, attribute.value, attribute.resolver_type) == (
        AttributeResolutionStatus.RESOLVED, {"tier": "GOLD"}, ResolverType.CLIENT_HOOK)
    path, body = hook_server.received[-1]
    assert path == "/value"
    assert body == {"key": "last_order", "activityId": str(activity.pk), "tenantId": str(commerce.tenant_id),
                    "type": "MESSAGE", "channel": "WHATSAPP",
                    "commerce": {"id": str(commerce.pk), "externalId": commerce.external_id, "name": commerce.name,
                                 "taxId": None}}


@pytest.mark.parametrize(("path", "error"), [
    ("/error", "hook answered HTTP 500"),
    ("/text", "hook answered with a body that is not JSON"),
    ("/empty", "hook answer has no value"),
])
def test_client_hook_failures_fail_the_attribute(commerce, hook_server, hook_policy, path, error):
    hook_policy(hook_server.url(path))
    activity = make_activity(commerce, attribute_keys=["last_order"])
    attribute = attribute_of(activity, "last_order")
    assert (attribute.resolution_status, attribute.error_message) == (AttributeResolutionStatus.FAILED, error)
    assert activity.status == ActivityStatus.UNRESOLVED
    assert failure_message(activity) == f"attribute last_order: {error}"


def test_client_hook_timeout_fails_the_attribute_and_uses_the_fallback(commerce, hook_server, hook_policy,
                                                                       fast_hook_timeout):
    hook_policy(hook_server.url("/slow"))
    activity = make_activity(commerce, attributes=[{"key": "last_order", "fallback": "unknown"}])
    attribute = attribute_of(activity, "last_order")
    assert (attribute.resolution_status, attribute.value, attribute.error_message) == (
        AttributeResolutionStatus.FALLBACK, "unknown", "hook timed out after 0.5 s")
    assert activity.status == ActivityStatus.READY


def test_client_hook_timeout_is_five_seconds_by_default():
    from django.conf import settings

    assert "ATTRIBUTE_HOOK_TIMEOUT_SECONDS" not in os.environ
    assert settings.ATTRIBUTE_HOOK_TIMEOUT_SECONDS == 5.0


def test_unreachable_client_hook_fails_the_attribute(commerce, hook_policy):
    hook_policy("http://127.0.0.1:9/nothing-listens-here")
    attribute = attribute_of(make_activity(commerce, attribute_keys=["last_order"]), "last_order")
    assert attribute.resolution_status == AttributeResolutionStatus.FAILED
    assert attribute.error_message == "hook unreachable: ConnectError"


def test_retry_resolution_uses_the_fixed_hook(commerce, hook_server, hook_policy):
    from activities.services import activity_retry_resolution

    policy = hook_policy(hook_server.url("/error"))
    activity = make_activity(commerce, attribute_keys=["last_order"])
    assert activity.status == ActivityStatus.UNRESOLVED
    policy.hook_url = hook_server.url("/value")
    policy.save()
    assert activity_retry_resolution(activity=activity, actor=SYSTEM).status == ActivityStatus.READY
    assert attribute_of(activity, "last_order").value == {"tier": "GOLD"}


def test_event_helper_records_the_actor_kind(commerce, admin_user):
    from tenants.actors import Actor

    activity = make_activity(commerce)
    event = record_status_event(activity=activity, event_type="RESULT_RECEIVED", from_status="READY",
                                to_status="READY", actor=Actor(user=admin_user))
    assert (event.actor_type, event.actor_user_id, event.actor_api_key_id) == ("USER", admin_user.pk, None)
