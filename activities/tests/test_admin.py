"""The activity admin: list, filters, search, bulk actions and change-page transition buttons."""
import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from activities.models import Activity, ActivityStatus, StatusEvent
from activities.tests.factories import activity_in, make_activity, reachable_user
from commerces.tests.factories import CommerceFactory

CHANGELIST = "/admin/activities/activity/"


@pytest.fixture
def staff(superuser):
    client = Client()
    client.force_login(superuser)
    return client


BUTTON_PATHS = {"cancel": "cancel", "resolution_retried": "retry-resolution", "dispatch_succeeded": "dispatch-now",
                "force_retry": "force-retry"}


def press(staff, activity, button, reason="Canceled in the admin"):
    """Follow a button at the top of the change page to its confirmation page and confirm it, as a browser does."""
    url = f"{CHANGELIST}{activity.pk}/{BUTTON_PATHS[button]}/"
    page = staff.get(url)
    assert page.status_code == 200 and 'type="submit"' in page.content.decode()
    return staff.post(url, {"reason": reason, "confirm": "yes"}, follow=True)


def buttons_of(page):
    return set(re.findall(r'href="/admin/activities/activity/[0-9a-f-]+/([a-z-]+)/"', page)) - {"change", "history"}


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_changelist_with_filters_and_search(staff, commerce, django_assert_max_num_queries):
    make_activity(commerce, reason="Payment reminder")
    activity_in(commerce, ActivityStatus.CANCELED)
    with django_assert_max_num_queries(12):
        response = staff.get(CHANGELIST)
    assert response.status_code == 200
    for params in ({"status__exact": "CANCELED"}, {"type__exact": "MESSAGE"}, {"channel__exact": "WHATSAPP"},
                   {"tenant__id__exact": str(commerce.tenant_id)}, {"q": "payment"},
                   {"scheduled_at__gte": "2025-01-16 00:00:00+00:00", "scheduled_at__lt": "2025-01-17 00:00:00+00:00"}):
        response = staff.get(CHANGELIST, params)
        assert response.status_code == 200, params
    assert staff.get(CHANGELIST, {"q": "payment"}).context["cl"].result_count == 1
    assert staff.get(CHANGELIST, {"status__exact": "CANCELED"}).context["cl"].result_count == 1


def test_bulk_cancel_reports_changed_and_skipped(staff, commerce):
    ready = [make_activity(commerce) for _ in range(2)]
    done = activity_in(commerce, ActivityStatus.COMPLETED)
    unresolved = activity_in(commerce, ActivityStatus.UNRESOLVED)
    response = staff.post(CHANGELIST, {"action": "cancel_selected",
                                       "_selected_action": [str(a.pk) for a in (*ready, done, unresolved)]},
                          follow=True)
    assert messages_of(response) == ["Canceled 2 activities. Skipped 2 (1 COMPLETED, 1 UNRESOLVED)."]
    assert [Activity.objects.get(pk=a.pk).status for a in ready] == ["CANCELED", "CANCELED"]
    assert Activity.objects.get(pk=done.pk).status == "COMPLETED"
    assert StatusEvent.objects.filter(event_type="CANCELED").count() == 2


def test_bulk_retry_resolution_reports_each_outcome(staff, tenant, commerce):
    fixable, hopeless = CommerceFactory(tenant=tenant), CommerceFactory(tenant=tenant)
    first, second = make_activity(fixable), make_activity(hopeless)
    reachable_user(fixable, "OWNER")
    ready = make_activity(commerce)
    response = staff.post(CHANGELIST, {"action": "retry_resolution_selected",
                                       "_selected_action": [str(first.pk), str(second.pk), str(ready.pk)]},
                          follow=True)
    # The bulk service of the API (SPEC 11.4) words it: one changed, one still unresolved, one not UNRESOLVED.
    assert messages_of(response) == ["Resolved (now READY) 1 activity. Skipped 2 (1 READY, 1 STILL_UNRESOLVED)."]
    assert Activity.objects.get(pk=first.pk).status == "READY"
    assert Activity.objects.get(pk=second.pk).status == "UNRESOLVED"


def test_change_page_shows_the_buttons_of_the_current_state_and_no_status_input(staff, commerce):
    ready = make_activity(commerce)
    page = staff.get(f"{CHANGELIST}{ready.pk}/change/").content.decode()
    assert buttons_of(page) == {"cancel"}
    assert 'name="status"' not in page and 'name="_save"' not in page  # nothing editable: no Save button
    unresolved = activity_in(commerce, ActivityStatus.UNRESOLVED)
    page = staff.get(f"{CHANGELIST}{unresolved.pk}/change/").content.decode()
    assert buttons_of(page) == {"retry-resolution"}
    failed = activity_in(commerce, ActivityStatus.FAILED)
    assert buttons_of(staff.get(f"{CHANGELIST}{failed.pk}/change/").content.decode()) == {"force-retry"}
    assert staff.get(f"{CHANGELIST}{activity_in(commerce, 'COMPLETED').pk}/change/").status_code == 200


def test_cancel_button_runs_the_cancel_service(staff, commerce):
    activity = make_activity(commerce)
    response = press(staff, activity, "cancel")
    assert messages_of(response) == ["Done: the activity is now CANCELED."]
    assert Activity.objects.get(pk=activity.pk).status == "CANCELED"
    event = StatusEvent.objects.get(activity=activity, event_type="CANCELED")
    assert (event.actor_type, event.error_message) == ("USER", "Canceled in the admin")


@pytest.mark.parametrize(("status", "button"), [("COMPLETED", "cancel"), ("READY", "resolution_retried"),
                                                ("READY", "dispatch_succeeded"), ("DISPATCHED", "cancel"),
                                                ("READY", "force_retry")])
def test_a_button_that_does_not_apply_changes_nothing(staff, commerce, status, button):
    activity = activity_in(commerce, status)
    response = press(staff, activity, button)
    assert len(messages_of(response)) == 1
    assert Activity.objects.get(pk=activity.pk).status == status
    assert StatusEvent.objects.filter(activity=activity).count() == 1


@pytest.mark.parametrize(("path", "code"), [("delete", 403), ("result-completed", 404), ("status", 404)])
def test_no_other_transition_has_a_url(staff, commerce, path, code):
    activity = make_activity(commerce)
    assert staff.post(f"{CHANGELIST}{activity.pk}/{path}/", {}, follow=True).status_code == code
    assert Activity.objects.get(pk=activity.pk).status == "READY"


def test_retry_resolution_button(staff, tenant):
    commerce = CommerceFactory(tenant=tenant)
    activity = make_activity(commerce)
    response = press(staff, activity, "resolution_retried")
    assert messages_of(response) == ["Resolution retried: still UNRESOLVED (see the latest status event)."]
    reachable_user(commerce, "OWNER")
    response = press(staff, activity, "resolution_retried")
    assert messages_of(response) == ["Done: the activity is now READY."]
    assert Activity.objects.get(pk=activity.pk).status == "READY"


@pytest.mark.parametrize("model", ["statusevent", "targetuser", "activityattribute", "commerceassignment",
                                   "taskdetails", "targetresolutionconfig", "attributekey", "attributepolicy",
                                   "userretentionstatus"])
def test_every_model_has_a_working_changelist(staff, commerce, model):
    make_activity(commerce, attribute_keys=["promotions"])
    assert staff.get(f"/admin/activities/{model}/").status_code == 200


def test_target_resolution_config_admin_validates_criteria(staff, tenant):
    response = staff.post("/admin/activities/targetresolutionconfig/add/", {
        "tenant": str(tenant.pk), "resolution_strategy": "ON_CREATION", "priority": "0", "is_active": "on",
        "fallback_to_commerce_rep": "on", "criteria": '[{"type": "NOPE"}]'})
    assert response.status_code == 200
    assert "Must be one of" in response.content.decode()
    response = staff.post("/admin/activities/targetresolutionconfig/add/", {
        "tenant": str(tenant.pk), "resolution_strategy": "ON_CREATION", "priority": "0", "is_active": "on",
        "criteria": '[{"type": "ROLE_MATCH", "config": {"role": "OWNER"}, "priority": 1}]'})
    assert response.status_code == 302
    from activities.models import TargetResolutionConfig

    config = TargetResolutionConfig.objects.get()
    assert (config.criteria, config.fallback_to_commerce_rep) == (
        [{"type": "ROLE_MATCH", "config": {"role": "OWNER"}, "priority": 1}], False)


@pytest.fixture
def task(tenant, commerce, route, operator):
    return make_activity(commerce, type="TASK", channel="SALESMAN", assigned_route_id=route.pk,
                         assigned_operator_id=operator.pk)


def mock_config(tenant, channel):
    from dispatch.models import DispatchProvider
    from dispatch.services import dispatch_config_create

    return dispatch_config_create(tenant=tenant, dispatch_provider_id=DispatchProvider.objects.get(code="MOCK").pk,
                                  channel=channel, settings={"failureRate": 0, "latencyMs": 0})


def test_dispatch_now_button_is_offered_for_ready_tasks_only(staff, task, commerce):
    assert buttons_of(staff.get(f"{CHANGELIST}{task.pk}/change/").content.decode()) == {"cancel", "dispatch-now"}
    message = make_activity(commerce)
    assert buttons_of(staff.get(f"{CHANGELIST}{message.pk}/change/").content.decode()) == {"cancel"}


def test_dispatch_now_button_sends_the_task_through_the_dispatcher(staff, tenant, task):
    mock_config(tenant, "SALESMAN")
    response = press(staff, task, "dispatch_succeeded")
    assert messages_of(response) == ["Done: the activity is now DISPATCHED."]
    task.refresh_from_db()
    assert (task.status, task.dispatch_attempt_count) == ("DISPATCHED", 1)
    assert StatusEvent.objects.filter(activity=task, event_type="DISPATCH_SUCCESS").count() == 1


def test_dispatch_now_without_a_config_says_so_and_changes_nothing(staff, task):
    response = press(staff, task, "dispatch_succeeded")
    assert messages_of(response) == ["No active dispatch config for channel SALESMAN"]
    assert Activity.objects.get(pk=task.pk).status == "READY"


def test_bulk_dispatch_reports_what_was_not_sent(staff, tenant, task, commerce):
    mock_config(tenant, "SALESMAN")
    message = make_activity(commerce)
    response = staff.post(CHANGELIST, {"action": "dispatch_selected",
                                       "_selected_action": [str(task.pk), str(message.pk)]}, follow=True)
    assert messages_of(response) == [
        "Dispatched 1. Not dispatched: 1 x Only TASK activities can be dispatched this way"]
    assert Activity.objects.get(pk=task.pk).status == "DISPATCHED"
    assert Activity.objects.get(pk=message.pk).status == "READY"


def test_attribute_policy_admin_needs_a_hook_url_for_client_hooks(staff, tenant):
    from activities.models import AttributeKey, AttributePolicy

    key = AttributeKey.objects.get(key="last_order")
    data = {"tenant": str(tenant.pk), "attribute_key": str(key.pk), "strategy": "UPFRONT",
            "resolver_type": "CLIENT_HOOK", "hook_url": ""}
    response = staff.post("/admin/activities/attributepolicy/add/", data)
    assert response.status_code == 200 and "Required for CLIENT_HOOK resolvers." in response.content.decode()
    assert AttributePolicy.objects.count() == 0
    data["hook_url"] = "https://hooks.example.com/last-order"
    assert staff.post("/admin/activities/attributepolicy/add/", data).status_code == 302
    assert AttributePolicy.objects.get().hook_url == "https://hooks.example.com/last-order"


# --- the way out of UNRESOLVED: manual value and manual assignment from the change page ------------------------

@pytest.fixture
def caller_provided(tenant):
    from activities.models import AttributeKey, AttributeStrategy
    from activities.tests.factories import AttributePolicyFactory

    AttributePolicyFactory(tenant=tenant, attribute_key=AttributeKey.objects.get(key="last_order"),
                           strategy=AttributeStrategy.CALLER_PROVIDED)


def test_the_attributes_inline_offers_a_manual_value_for_blocking_attributes_only(staff, commerce, caller_provided):
    activity = make_activity(commerce, attribute_keys=["promotions", "last_order"])
    failed = activity.attributes.get(attribute_key__key="last_order")
    resolved = activity.attributes.get(attribute_key__key="promotions")
    page = staff.get(f"{CHANGELIST}{activity.pk}/change/").content.decode()
    assert f"{CHANGELIST}{activity.pk}/attributes/{failed.pk}/resolve/" in page
    assert f"/attributes/{resolved.pk}/resolve/" not in page


def test_a_manual_value_from_the_admin_runs_the_service(staff, superuser, commerce, caller_provided):
    activity = make_activity(commerce, attribute_keys=["last_order"])
    failed = activity.attributes.get()
    url = f"{CHANGELIST}{activity.pk}/attributes/{failed.pk}/resolve/"
    assert staff.get(url).status_code == 200
    response = staff.post(url, {"value": '{"daysAgo": 3}'}, follow=True)
    assert messages_of(response) == ["Attribute last_order set by hand; the activity is now READY."]
    failed.refresh_from_db()
    assert (failed.value, failed.resolution_status, failed.resolver_type) == ({"daysAgo": 3}, "RESOLVED", "MANUAL")
    assert list(StatusEvent.objects.filter(activity=activity).order_by("occurred_at")
                .values_list("event_type", "actor_user")) == [
        ("CREATED", None), ("RESOLUTION_FAILED", None), ("ATTRIBUTE_RESOLVED", superuser.pk),
        ("RESOLUTION_RETRY_SUCCESS", superuser.pk)]


@pytest.mark.parametrize("value", ["", "null", "{not json"])
def test_a_manual_value_that_is_not_json_is_a_form_error_and_changes_nothing(staff, commerce, caller_provided, value):
    activity = make_activity(commerce, attribute_keys=["last_order"])
    failed = activity.attributes.get()
    response = staff.post(f"{CHANGELIST}{activity.pk}/attributes/{failed.pk}/resolve/", {"value": value})
    assert response.status_code == 200
    assert response.context["form"].errors["value"]
    failed.refresh_from_db()
    assert failed.resolution_status == "FAILED"
    assert Activity.objects.get(pk=activity.pk).status == "UNRESOLVED"
    assert StatusEvent.objects.filter(activity=activity).count() == 2


def test_a_refused_manual_value_shows_the_service_message_and_changes_nothing(staff, commerce, caller_provided):
    activity = activity_in(commerce, ActivityStatus.DISPATCHED, attribute_keys=["last_order"])
    failed = activity.attributes.get()
    response = staff.post(f"{CHANGELIST}{activity.pk}/attributes/{failed.pk}/resolve/", {"value": "1"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Cannot set an attribute value: the activity is DISPATCHED; only READY or UNRESOLVED activities take values"]
    failed.refresh_from_db()
    assert failed.resolution_status == "FAILED"
    assert StatusEvent.objects.filter(activity=activity).count() == 2


def test_an_attribute_of_another_activity_is_404_in_the_admin(staff, commerce, caller_provided):
    activity = make_activity(commerce, attribute_keys=["last_order"])
    other = make_activity(commerce, attribute_keys=["last_order"])
    url = f"{CHANGELIST}{activity.pk}/attributes/{other.attributes.get().pk}/resolve/"
    assert staff.post(url, {"value": "1"}).status_code == 404
    assert other.attributes.get().resolution_status == "FAILED"


def test_a_manual_assignment_from_the_admin_runs_the_service(staff, tenant, commerce):
    from activities.models import ResolutionStrategy
    from activities.tests.factories import TargetResolutionConfigFactory
    from commerces.tests.factories import CommerceUserFactory

    TargetResolutionConfigFactory(tenant=tenant, resolution_strategy=ResolutionStrategy.MANUAL)
    activity = make_activity(commerce)
    target = activity.target_users.get()
    page = staff.get(f"{CHANGELIST}{activity.pk}/change/").content.decode()
    url = f"{CHANGELIST}{activity.pk}/target-users/{target.pk}/resolve/"
    assert url in page
    stranger = CommerceUserFactory(commerce=CommerceFactory(tenant=tenant))
    refused = staff.post(url, {"commerce_user": str(stranger.pk)})
    assert refused.context["form"].errors["commerce_user"]
    assert Activity.objects.get(pk=activity.pk).status == "UNRESOLVED"
    person = CommerceUserFactory(commerce=commerce, first_name="Ana", last_name="Store")
    response = staff.post(url, {"commerce_user": str(person.pk)}, follow=True)
    assert messages_of(response) == ["Target user assigned to Ana Store; the activity is now READY."]
    target.refresh_from_db()
    assert (target.commerce_user, target.resolution_status, target.lock_reason) == (
        person, "LOCKED", "MANUAL_ASSIGNMENT")


def test_attribute_policy_admin_refuses_an_internal_hook_url(staff, tenant, settings):
    from activities.models import AttributeKey, AttributePolicy

    settings.RETEN_ALLOW_PRIVATE_URLS = False
    key = AttributeKey.objects.get(key="last_order")
    data = {"tenant": str(tenant.pk), "attribute_key": str(key.pk), "strategy": "UPFRONT",
            "resolver_type": "CLIENT_HOOK", "hook_url": "http://169.254.169.254/latest/meta-data/"}
    response = staff.post("/admin/activities/attributepolicy/add/", data)
    assert response.status_code == 200
    assert "Not an allowed outbound URL: the host resolves to a cloud metadata address." in response.content.decode()
    assert AttributePolicy.objects.count() == 0
