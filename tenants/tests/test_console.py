"""The console (SPEC 7) for tenant staff, through the admin's public surface: who logs in, what each role sees and
may do, and that nothing of another tenant can be seen, chosen, guessed or changed."""
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from activities.models import Activity, StatusEvent
from activities.tests.factories import activity_in, commerce_with_rep, make_activity
from commerces.models import Commerce
from commerces.tests.factories import CommerceFactory, OperatorFactory
from dispatch.tests import factories as dispatch_factories
from tenants.models import ApiKey, Membership, MembershipStatus
from tenants.services import api_key_create
from tenants.tests.factories import TenantFactory, UserFactory, member

pytestmark = pytest.mark.django_db

ACTIVITIES = "/admin/activities/activity/"


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def login(client, email, password="password123"):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password})


# --- who logs in --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["ADMIN", "FDE", "VIEWER"])
def test_tenant_staff_log_in_with_their_api_credentials(client, tenant, role):
    user = member(tenant, role)
    assert not user.is_staff
    response = login(client, user.email)
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get("/admin/").status_code == 200


def test_the_login_page_opened_directly_lands_on_the_dashboard(client, tenant):
    user = member(tenant, "VIEWER")
    response = client.post("/admin/login/", {"username": user.email, "password": "password123"})
    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_a_user_without_a_membership_is_refused(client, db):
    user = UserFactory()
    response = login(client, user.email)
    assert response.status_code == 200
    assert "cannot use the console" in response.content.decode()
    assert client.get("/admin/").status_code == 302  # back to the login page


@pytest.mark.parametrize("case", ["invited", "no_role", "tenant_disabled", "user_inactive"])
def test_no_active_role_in_an_active_tenant_means_no_console(client, tenant, case):
    user = member(tenant, "ADMIN")
    membership = Membership.objects.get(user=user)
    if case == "invited":
        Membership.objects.filter(pk=membership.pk).update(status=MembershipStatus.INVITED)
    elif case == "no_role":
        membership.roles.clear()
    elif case == "tenant_disabled":
        tenant.is_active = False
        tenant.save()
    else:
        user.is_active = False
        user.save()
    assert login(client, user.email).status_code == 200
    assert client.get("/admin/").status_code == 302
    # Even with a session from before, the site refuses.
    assert logged_in(user).get(ACTIVITIES).status_code == 302


def test_root_redirects_to_the_console(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_plumbing_is_hidden(tenant, superuser):
    for client in (logged_in(superuser), logged_in(member(tenant, "ADMIN"))):
        page = client.get("/admin/").content.decode()
        assert "token_blacklist" not in page and "/admin/auth/group/" not in page
        assert client.get("/admin/auth/group/").status_code == 404
        assert client.get("/admin/token_blacklist/outstandingtoken/").status_code == 404


# --- scope -----------------------------------------------------------------------------------------------------

@pytest.fixture
def mine(tenant):
    return commerce_with_rep(tenant, name="Mine Market")


@pytest.fixture
def theirs(other_tenant):
    return commerce_with_rep(other_tenant, name="Their Market")


def _changelist_ids(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return {str(obj.pk) for obj in response.context["cl"].result_list}


def test_every_changelist_shows_only_the_users_tenant(tenant, other_tenant, mine, theirs):
    admin = logged_in(member(tenant, "ADMIN"))
    own, foreign = make_activity(mine), make_activity(theirs)
    dispatch_factories.config(tenant, channel="SMS")
    foreign_config = dispatch_factories.config(other_tenant, channel="SMS")
    own_op, foreign_op = OperatorFactory(tenant=tenant), OperatorFactory(tenant=other_tenant)
    cases = {
        ACTIVITIES: ({str(own.pk)}, str(foreign.pk)),
        "/admin/commerces/commerce/": ({str(mine.pk)}, str(theirs.pk)),
        "/admin/commerces/operator/": ({str(own_op.pk)}, str(foreign_op.pk)),
        "/admin/activities/statusevent/": (
            {str(e.pk) for e in StatusEvent.objects.filter(activity=own)},
            str(StatusEvent.objects.filter(activity=foreign).first().pk)),
        "/admin/commerces/commerceuser/": ({str(u.pk) for u in mine.users.all()},
                                          str(theirs.users.first().pk)),
        "/admin/tenants/tenant/": ({str(tenant.pk)}, str(other_tenant.pk)),
    }
    for url, (expected, foreign_id) in cases.items():
        assert _changelist_ids(admin, url) == expected, url
        assert admin.get(f"{url}{foreign_id}/change/").status_code == 404, url
    configs = _changelist_ids(admin, "/admin/dispatch/dispatchconfig/")
    assert str(foreign_config.pk) not in configs and len(configs) == 1
    assert admin.get(f"/admin/dispatch/dispatchconfig/{foreign_config.pk}/change/").status_code == 404


def test_a_foreign_id_is_a_404_on_every_page_of_the_object(tenant, theirs):
    admin = logged_in(member(tenant, "ADMIN"))
    foreign = make_activity(theirs)
    for suffix in ("change/", "history/", "delete/", "cancel/", "dispatch-now/"):
        assert admin.get(f"{ACTIVITIES}{foreign.pk}/{suffix}").status_code in (403, 404), suffix
    assert admin.get(f"{ACTIVITIES}{foreign.pk}/change/").status_code == 404
    assert admin.post(f"{ACTIVITIES}{foreign.pk}/cancel/", {"reason": "x"}).status_code in (403, 404)
    assert Activity.objects.get(pk=foreign.pk).status == "READY"


def test_users_and_memberships_of_other_tenants_are_out_of_sight(tenant, other_tenant):
    admin_user = member(tenant, "ADMIN")
    colleague = member(tenant, "VIEWER")
    member(other_tenant, "FDE", user=colleague)  # also in another tenant: that membership stays out of sight
    stranger = member(other_tenant, "ADMIN")
    invited = member(tenant, "VIEWER")  # an invitation grants nothing: not a member of the tenant yet
    Membership.objects.filter(user=invited).update(status=MembershipStatus.INVITED)
    admin = logged_in(admin_user)
    assert _changelist_ids(admin, "/admin/tenants/user/") == {str(admin_user.pk), str(colleague.pk)}
    assert admin.get(f"/admin/tenants/user/{invited.pk}/change/").status_code == 404
    assert other_tenant.slug not in admin.get(f"/admin/tenants/user/{colleague.pk}/change/").content.decode()
    assert admin.get(f"/admin/tenants/user/{stranger.pk}/change/").status_code == 404
    memberships = _changelist_ids(admin, "/admin/tenants/membership/")
    assert memberships == {str(m.pk) for m in Membership.objects.filter(tenant=tenant)}
    page = admin.get("/admin/tenants/user/").content.decode()
    assert other_tenant.slug not in page


def test_list_filter_and_tenant_choices_offer_only_the_users_tenants(tenant, other_tenant, mine, theirs):
    fde = logged_in(member(tenant, "FDE"))
    page = fde.get("/admin/commerces/commerce/").content.decode()
    assert tenant.name in page and other_tenant.name not in page
    add = fde.get("/admin/commerces/operator/add/")
    assert add.status_code == 200
    choices = {str(pk) for pk, _ in add.context["adminform"].form.fields["tenant"].choices if pk}
    assert choices == {str(tenant.pk)}
    # A forged POST naming the other tenant is refused by the form.
    response = fde.post("/admin/commerces/operator/add/", {
        "tenant": str(other_tenant.pk), "type": "INTERNAL", "name": "Forged", "is_active": "on",
        "metadata": "{}"})
    assert response.status_code == 200 and "tenant" in response.context["adminform"].form.errors
    assert not other_tenant_has_operator(other_tenant)


def other_tenant_has_operator(other_tenant):
    from commerces.models import Operator

    return Operator.objects.filter(tenant=other_tenant, name="Forged").exists()


def test_foreign_key_autocomplete_offers_only_the_users_tenant(tenant, mine, theirs):
    fde = logged_in(member(tenant, "FDE"))
    response = fde.get("/admin/autocomplete/", {"app_label": "commerces", "model_name": "commerceuser",
                                                "field_name": "commerce", "term": "Market"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(mine.pk)]


def test_the_tenant_of_an_existing_object_cannot_be_changed(tenant, other_tenant, mine):
    second = TenantFactory()
    admin_user = member(tenant, "ADMIN")
    member(second, "ADMIN", user=admin_user)  # in two tenants: the choice exists, but not on a change
    admin = logged_in(admin_user)
    page = admin.get(f"/admin/commerces/commerce/{mine.pk}/change/")
    assert "tenant" not in page.context["adminform"].form.fields
    admin.post(f"/admin/commerces/commerce/{mine.pk}/change/", {
        "tenant": str(second.pk), "external_id": mine.external_id, "name": "Renamed", "metadata": "{}",
        "is_active": "on", "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0",
        "users-TOTAL_FORMS": "0", "users-INITIAL_FORMS": str(mine.users.count())})
    assert Commerce.objects.get(pk=mine.pk).tenant_id == tenant.pk


# --- powers per role (SPEC 2) --------------------------------------------------------------------------------

def test_a_viewer_reads_activities_but_cannot_cancel(tenant, mine):
    viewer = logged_in(member(tenant, "VIEWER"))
    activity = make_activity(mine)
    page = viewer.get(f"{ACTIVITIES}{activity.pk}/change/")
    assert page.status_code == 200
    assert f"{activity.pk}/cancel/" not in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert viewer.get(f"{ACTIVITIES}{activity.pk}/cancel/").status_code == 403
    assert viewer.post(f"{ACTIVITIES}{activity.pk}/cancel/", {"reason": "no"}).status_code == 403
    listing = viewer.get(ACTIVITIES)
    assert "cancel_selected" not in listing.content.decode()
    viewer.post(ACTIVITIES, {"action": "cancel_selected", "_selected_action": [str(activity.pk)]})
    assert Activity.objects.get(pk=activity.pk).status == "READY"
    # Commerces need MANAGE_COMMERCES, which a VIEWER lacks.
    assert viewer.get("/admin/commerces/commerce/").status_code == 403


def test_an_fde_retries_but_does_not_cancel_or_configure(tenant, mine):
    fde = logged_in(member(tenant, "FDE"))
    ready = make_activity(mine)
    unresolved = activity_in(mine, "UNRESOLVED")
    assert fde.get(f"{ACTIVITIES}{ready.pk}/cancel/").status_code == 403
    assert f"{unresolved.pk}/retry-resolution/" in fde.get(f"{ACTIVITIES}{unresolved.pk}/change/").content.decode()
    assert fde.get(f"{ACTIVITIES}{unresolved.pk}/retry-resolution/").status_code == 200
    assert fde.get("/admin/dispatch/dispatchconfig/").status_code == 200  # VIEW_ACTIVITIES reads configs
    assert fde.get("/admin/dispatch/dispatchconfig/add/").status_code == 403
    assert fde.get("/admin/commerces/commerce/add/").status_code == 200  # MANAGE_COMMERCES


def test_an_admin_cancels_with_a_reason_through_a_confirmation_page(tenant, mine):
    admin_user = member(tenant, "ADMIN")
    admin = logged_in(admin_user)
    activity = make_activity(mine)
    page = admin.get(f"{ACTIVITIES}{activity.pk}/change/").content.decode()
    assert f'href="{ACTIVITIES}{activity.pk}/cancel/"' in page
    confirm = admin.get(f"{ACTIVITIES}{activity.pk}/cancel/")
    body = confirm.content.decode()
    assert confirm.status_code == 200 and '<label' in body and 'for="id_reason"' in body
    assert Activity.objects.get(pk=activity.pk).status == "READY"  # showing the page changes nothing
    missing = admin.post(f"{ACTIVITIES}{activity.pk}/cancel/", {"reason": ""})
    assert missing.status_code == 200 and Activity.objects.get(pk=activity.pk).status == "READY"
    response = admin.post(f"{ACTIVITIES}{activity.pk}/cancel/", {"reason": "Store closed for good"}, follow=True)
    assert messages_of(response) == ["Done: the activity is now CANCELED."]
    event = StatusEvent.objects.get(activity=activity, event_type="CANCELED")
    assert (event.actor_user_id, event.error_message) == (admin_user.pk, "Store closed for good")


def test_bulk_cancel_skips_rows_of_a_tenant_where_the_user_may_not(tenant, mine):
    second = TenantFactory()
    user = member(tenant, "ADMIN")
    member(second, "VIEWER", user=user)
    other_commerce = commerce_with_rep(second)
    allowed, refused = make_activity(mine), make_activity(other_commerce)
    client = logged_in(user)
    response = client.post(ACTIVITIES, {"action": "cancel_selected",
                                        "_selected_action": [str(allowed.pk), str(refused.pk)]}, follow=True)
    assert messages_of(response) == ["Canceled 1 activity. Skipped 1 (1 NOT_PERMITTED)."]
    assert Activity.objects.get(pk=allowed.pk).status == "CANCELED"
    assert Activity.objects.get(pk=refused.pk).status == "READY"


def test_global_objects_are_read_only_for_tenant_staff(tenant):
    admin = logged_in(member(tenant, "ADMIN"))
    provider = dispatch_factories.default_provider("SMS")
    page = admin.get(f"/admin/dispatch/dispatchprovider/{provider.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin.get("/admin/activities/attributekey/add/").status_code == 403
    assert admin.get("/admin/tenants/role/").status_code == 200


# --- passwords: only through the service, with its cross-tenant guard -----------------------------------------

def test_an_admin_resets_a_members_password_through_the_service(tenant):
    admin_user = member(tenant, "ADMIN")
    viewer = member(tenant, "VIEWER")
    admin = logged_in(admin_user)
    # Django's own password form is for platform staff only.
    assert admin.get(f"/admin/tenants/user/{viewer.pk}/password/").status_code == 403
    url = f"/admin/tenants/user/{viewer.pk}/reset-member-password/"
    assert admin.get(url).status_code == 200
    response = admin.post(url, {"new_password": "brand-new-pass", "confirm_password": "brand-new-pass"}, follow=True)
    assert messages_of(response)[-1].startswith(f"Password of {viewer.email} reset")
    viewer.refresh_from_db()
    assert viewer.check_password("brand-new-pass")


def test_a_user_of_another_tenant_too_keeps_their_password(tenant, other_tenant):
    admin = logged_in(member(tenant, "ADMIN"))
    shared = member(tenant, "VIEWER")
    member(other_tenant, "ADMIN", user=shared)
    response = admin.post(f"/admin/tenants/user/{shared.pk}/reset-member-password/",
                          {"new_password": "brand-new-pass", "confirm_password": "brand-new-pass"})
    assert response.status_code == 200
    assert "only a platform administrator" in response.content.decode()
    shared.refresh_from_db()
    assert shared.check_password("password123")


def test_a_viewer_and_an_fde_cannot_reset_passwords(tenant):
    target = member(tenant, "VIEWER")
    for role in ("VIEWER", "FDE"):
        client = logged_in(member(tenant, role))
        assert client.get(f"/admin/tenants/user/{target.pk}/reset-member-password/").status_code in (403, 404)


def test_an_admin_revokes_keys_of_their_tenant_only_through_the_service(tenant, other_tenant):
    admin_user = member(tenant, "ADMIN")
    key, _ = api_key_create(tenant=tenant, creator=admin_user, name="mine", permissions=["VIEW_ACTIVITIES"])
    stranger = member(other_tenant, "ADMIN")
    foreign, _ = api_key_create(tenant=other_tenant, creator=stranger, name="theirs", permissions=["VIEW_ACTIVITIES"])
    admin = logged_in(admin_user)
    assert _changelist_ids(admin, "/admin/tenants/apikey/") == {str(key.pk)}
    admin.post("/admin/tenants/apikey/", {"action": "revoke_keys",
                                          "_selected_action": [str(key.pk), str(foreign.pk)]})
    assert ApiKey.objects.get(pk=key.pk).is_active is False
    assert ApiKey.objects.get(pk=foreign.pk).is_active is True
    assert logged_in(member(tenant, "FDE")).get("/admin/tenants/apikey/").status_code == 403


# --- flat queries ----------------------------------------------------------------------------------------------

def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_activity_changelist_costs_the_same_for_5_and_50_rows(tenant, mine):
    client = logged_in(member(tenant, "ADMIN"))
    for _ in range(5):
        make_activity(mine)
    few = _queries(client, ACTIVITIES)
    for _ in range(45):
        make_activity(mine)
    with CaptureQueriesContext(connection) as captured:
        client.get(ACTIVITIES)
    assert len(captured) == few, "\n".join(q["sql"][:300] for q in captured.captured_queries)


def test_the_activity_change_page_is_flat_in_events_and_rows(tenant, mine):
    client = logged_in(member(tenant, "ADMIN"))
    activity = make_activity(mine)
    few = _queries(client, f"{ACTIVITIES}{activity.pk}/change/")
    for n in range(20):
        StatusEvent.objects.create(activity=activity, event_type="CANCELED", from_status="READY",
                                   occurred_at=activity.created_at,
                                   to_status="READY", actor_type="SYSTEM", error_message=f"note {n}")
    assert _queries(client, f"{ACTIVITIES}{activity.pk}/change/") == few


# --- the dashboard ---------------------------------------------------------------------------------------------

def test_the_dashboard_counts_the_chosen_tenant_and_links_to_the_lists(tenant, other_tenant, mine, theirs):
    make_activity(mine)
    activity_in(mine, "FAILED")
    for _ in range(3):
        make_activity(theirs)
    admin = logged_in(member(tenant, "ADMIN"))
    response = admin.get("/admin/")
    page = response.content.decode()
    assert response.context["dashboard"]["tenant"] == tenant
    totals = {cell["status"]: cell["count"] for cell in response.context["dashboard"]["status_totals"]}
    assert (totals["READY"], totals["FAILED"]) == (1, 1)
    link = f"{ACTIVITIES}?tenant__id__exact={tenant.pk}&amp;channel__exact=WHATSAPP&amp;status__exact=READY"
    assert f'href="{link}"' in page
    listed = admin.get(link.replace("&amp;", "&"))
    assert listed.context["cl"].result_count == 1
    # Another tenant cannot be chosen by its id.
    assert admin.get("/admin/", {"tenant": str(other_tenant.pk)}).context["dashboard"]["tenant"] == tenant
    assert str(other_tenant.pk) not in page


def test_the_dashboard_is_a_bounded_number_of_queries(tenant, mine):
    admin = logged_in(member(tenant, "ADMIN"))
    make_activity(mine)
    few = _queries(admin, "/admin/")
    for _ in range(10):
        activity_in(mine, "FAILED")
    assert _queries(admin, "/admin/") == few


def test_superusers_still_see_every_tenant(superuser, mine, theirs):
    client = logged_in(superuser)
    ids = _changelist_ids(client, "/admin/commerces/commerce/")
    assert {str(mine.pk), str(theirs.pk)} <= ids
    page = client.get("/admin/", {"tenant": str(theirs.tenant_id)})
    assert page.context["dashboard"]["tenant"] == theirs.tenant
    assert re.search(r"<h1|Dashboard", page.content.decode())


def test_another_commerce_of_the_user_cannot_be_chosen_for_a_user_of_a_commerce(tenant, mine, theirs):
    fde = logged_in(member(tenant, "FDE"))
    page = fde.get("/admin/commerces/commerceuser/add/")
    assert page.status_code == 200
    queryset = page.context["adminform"].form.fields["commerce"].queryset
    assert set(queryset.values_list("pk", flat=True)) == {mine.pk}
    assert CommerceFactory._meta.model.objects.filter(pk=theirs.pk).exists()


def test_commerce_and_activities_link_both_ways(tenant, mine, theirs):
    admin = logged_in(member(tenant, "ADMIN"))
    activity = make_activity(mine)
    make_activity(theirs)
    page = admin.get(f"/admin/commerces/commerce/{mine.pk}/change/").content.decode()
    link = f"{ACTIVITIES}?commerce_assignment__commerce__id__exact={mine.pk}"
    assert f'href="{link}"' in page
    assert [a.pk for a in admin.get(link).context["cl"].result_list] == [activity.pk]
    detail = admin.get(f"{ACTIVITIES}{activity.pk}/change/").content.decode()
    assert f'href="/admin/commerces/commerce/{mine.pk}/change/"' in detail
    listing = admin.get(ACTIVITIES).content.decode()
    assert f"Mine Market · {str(activity.pk)[:8]}" in listing
    # The status is a badge that writes the status out (colour is not the only signal): READY is blue on light.
    assert re.search(r'bg-blue-100 text-blue-700[^>]*>\s*READY\s*</span>', listing)


# --- dispatch configs for a tenant ADMIN --------------------------------------------------------------------

def test_a_tenant_admin_configures_dispatch_with_masked_credentials_and_form_errors(tenant, other_tenant):
    from dispatch.models import DispatchConfig, DispatchProvider
    from dispatch.services import provider_config_of

    yom = DispatchProvider.objects.get(code="YOM")
    admin = logged_in(member(tenant, "ADMIN"))
    secret = "sk_typed_by_the_tenant_admin"
    form = {"tenant": str(tenant.pk), "provider": str(yom.pk), "channel": "SALESMAN", "base_url": "https://yom.example",
            "settings": "{}", "credential__apiKey": secret, "is_active": "on"}
    page = admin.get("/admin/dispatch/dispatchconfig/add/", {"provider": str(yom.pk), "channel": "SALESMAN"})
    assert 'type="password"' in page.content.decode() and 'name="credential__apiKey"' in page.content.decode()
    # The other tenant is not a choice.
    refused = admin.post("/admin/dispatch/dispatchconfig/add/", {**form, "tenant": str(other_tenant.pk)})
    assert refused.status_code == 200 and "tenant" in refused.context["adminform"].form.errors
    assert admin.post("/admin/dispatch/dispatchconfig/add/", form).status_code == 302
    config = DispatchConfig.objects.get(tenant=tenant)
    assert provider_config_of(config).credentials == {"apiKey": secret}
    change = admin.get(f"/admin/dispatch/dispatchconfig/{config.pk}/change/").content.decode()
    assert secret not in change and "apiKey: ••••••••" in change
    conflict = admin.post("/admin/dispatch/dispatchconfig/add/", form)
    assert conflict.status_code == 200
    assert conflict.context["adminform"].form.errors == {
        "is_active": ["This tenant already has an active config for SALESMAN."]}
    assert secret not in conflict.content.decode()
    assert DispatchConfig.objects.filter(tenant=tenant).count() == 1
    # An FDE reads configs but does not see the Test connection action nor the add page.
    fde = logged_in(member(tenant, "FDE"))
    assert "test_connection" not in fde.get("/admin/dispatch/dispatchconfig/").content.decode()
    assert fde.get(f"/admin/dispatch/dispatchconfig/{config.pk}/change/").status_code == 200
    assert 'name="_save"' not in fde.get(f"/admin/dispatch/dispatchconfig/{config.pk}/change/").content.decode()


def test_bulk_delete_spares_rows_of_a_tenant_where_the_user_only_reads(tenant):
    from activities.models import UserRetentionStatus

    second = TenantFactory()
    user = member(tenant, "ADMIN")
    member(second, "VIEWER", user=user)
    mine_status = UserRetentionStatus.objects.create(tenant=tenant, code="A", label="A")
    read_only = UserRetentionStatus.objects.create(tenant=second, code="B", label="B")
    client = logged_in(user)
    assert _changelist_ids(client, "/admin/activities/userretentionstatus/") == {str(mine_status.pk),
                                                                                  str(read_only.pk)}
    # A selection with a row the user may not delete is refused whole (Django checks each object)...
    refused = client.post("/admin/activities/userretentionstatus/", {
        "action": "delete_selected", "post": "yes", "_selected_action": [str(mine_status.pk), str(read_only.pk)]})
    assert refused.status_code == 403
    assert sorted(UserRetentionStatus.objects.values_list("code", flat=True)) == ["A", "B"]
    # ...and the user's own row alone is deleted.
    client.post("/admin/activities/userretentionstatus/", {
        "action": "delete_selected", "post": "yes", "_selected_action": [str(mine_status.pk)]})
    assert list(UserRetentionStatus.objects.values_list("code", flat=True)) == ["B"]


def test_an_fde_adds_an_operator_to_a_route_of_their_tenant_only(tenant, other_tenant):
    from commerces.models import RouteOperator
    from commerces.tests.factories import RouteFactory

    fde = logged_in(member(tenant, "FDE"))
    route = RouteFactory(tenant=tenant)
    mine_op, foreign_op = OperatorFactory(tenant=tenant), OperatorFactory(tenant=other_tenant)
    page = fde.get(f"/admin/commerces/route/{route.pk}/change/")
    formset = next(f for f in page.context["inline_admin_formsets"] if f.formset.model is RouteOperator)
    assert set(formset.formset.empty_form.fields["operator"].queryset.values_list("pk", flat=True)) == {mine_op.pk}
    assert foreign_op.pk not in set(formset.formset.empty_form.fields["operator"].queryset.values_list("pk", flat=True))



def test_an_admin_adds_a_member_through_the_service(tenant, other_tenant):
    from tenants.models import User

    admin = logged_in(member(tenant, "ADMIN"))
    url = "/admin/tenants/user/add-member/"
    assert f'href="{url}"' in admin.get("/admin/tenants/user/").content.decode()
    page = admin.get(url)
    assert {str(t.pk) for t in page.context["form"].fields["tenant"].queryset} == {str(tenant.pk)}
    body = {"tenant": str(tenant.pk), "email": "New.Person@example.com", "roles": ["FDE"],
            "password": "a-good-password-1", "first_name": "New", "last_name": "Person"}
    response = admin.post(url, body, follow=True)
    assert messages_of(response)[-1] == f"new.person@example.com added to {tenant.name}."
    created = User.objects.get(email="new.person@example.com")
    assert created.check_password("a-good-password-1")
    assert Membership.objects.get(user=created).role_names() == ["FDE"]
    # Roles at the actor's own level are refused by the service; another tenant is not a choice.
    refused = admin.post(url, {**body, "email": "second@example.com", "roles": ["ADMIN"]})
    assert refused.status_code == 200 and "below your own level" in refused.content.decode()
    foreign = admin.post(url, {**body, "email": "third@example.com", "tenant": str(other_tenant.pk)})
    assert "tenant" in foreign.context["form"].errors
    assert not User.objects.filter(email__in=["second@example.com", "third@example.com"]).exists()
    assert logged_in(member(tenant, "FDE")).get(url).status_code == 403


def test_changing_ones_own_password_goes_through_the_service_and_signs_out_the_api(tenant):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
    from rest_framework_simplejwt.tokens import RefreshToken

    user = member(tenant, "VIEWER")
    RefreshToken.for_user(user)  # an API session
    client = logged_in(user)
    assert client.get("/admin/password_change/").status_code == 200
    response = client.post("/admin/password_change/", {"old_password": "password123",
                                                       "new_password1": "another-pass-42",
                                                       "new_password2": "another-pass-42"})
    assert (response.status_code, response["Location"]) == (302, "/admin/password_change/done/")
    user.refresh_from_db()
    assert user.check_password("another-pass-42")
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
