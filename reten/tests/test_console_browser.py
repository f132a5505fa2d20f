"""The console in a real browser (issue 13): Debian's chromium driven by Playwright against pytest-django's live
server. Marked `browser`: `make test` leaves it out unless RETEN_BROWSER_TESTS=1; `.ci/run` installs chromium and
runs it as its own step. Each step saves a screenshot under bench/screenshots/ for a reviewer.

Selectors go by role, label and text (what a user sees), not by the CSS of a theme, so the steps survive the
move to django-unfold. Every step runs for each persona of PERSONAS; a persona says what its role may do, and the
step asserts that outcome, so adding the tenant ADMIN and VIEWER is adding their rows.
"""
import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from activities.models import Activity, ActivityStatus, AttributeKey, AttributeStrategy, EventType, StatusEvent
from activities.tests.factories import AttributePolicyFactory, activity_in, commerce_with_rep, make_activity
from commerces.models import Commerce
from dispatch.tests import factories as dispatch_factories
from tenants.tests.factories import TenantFactory, UserFactory, member

# serialized_rollback: the roles, providers and attribute keys seeded by migrations are back for every test.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHROMIUM = os.environ.get("RETEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(django_settings.BASE_DIR) / "bench" / "screenshots"
PASSWORD = "browser-pass-123"
SECRET = "sk_live_browser_secret_4242"


@dataclass(frozen=True)
class Persona:
    """Who logs in, and what the console must let them do (SPEC 2, 7)."""

    name: str
    make_user: object  # (world) -> User with PASSWORD
    may_operate: bool  # cancel, force retry (CANCEL_ACTIVITY, DISPATCH_ACTIVITY)
    may_repair: bool  # a value or a person given by hand to an UNRESOLVED activity (CREATE_ACTIVITY)
    may_import_commerces: bool  # SYNC_COMMERCES
    sees_other_tenant: bool


def _tenant_member(role, email):
    """A member of the world's tenant holding `role`. The roles are seeded again first: a transactional test before
    this one flushed the tables, and the seed rows do not always come back with it."""
    from tenants.models import Role
    from tenants.roles import ROLE_DESCRIPTIONS, ROLE_LEVELS

    def make(world):
        for name, level in ROLE_LEVELS.items():
            Role.objects.update_or_create(name=name, defaults={"level": level,
                                                               "description": ROLE_DESCRIPTIONS[name]})
        return member(world.tenant, role, email=email, password=PASSWORD)

    return make


def _super_admin(world):
    return UserFactory(email="root@reten.example", is_superuser=True, is_staff=True, password=PASSWORD)


PERSONAS = {
    "super_admin": Persona("super_admin", _super_admin, may_operate=True, may_repair=True, may_import_commerces=True,
                           sees_other_tenant=True),
    "tenant_admin": Persona("tenant_admin", _tenant_member("ADMIN", "ana@acme.example"),
                            may_operate=True, may_repair=True, may_import_commerces=True, sees_other_tenant=False),
    "viewer": Persona("viewer", _tenant_member("VIEWER", "victor@acme.example"),
                      may_operate=False, may_repair=False, may_import_commerces=False, sees_other_tenant=False),
}


@dataclass
class World:
    tenant: object
    other_tenant: object
    commerce: object
    ready: Activity
    failed: Activity
    canceled: Activity
    unresolved: Activity
    config: object
    foreign: Activity


@pytest.fixture
def world(db):
    tenant = TenantFactory(name="Acme Retail", slug="acme")
    other = TenantFactory(name="Other Co", slug="other")
    commerce = commerce_with_rep(tenant, external_id="C-100", name="Minimarket Don Pedro")
    ready = make_activity(commerce, reason="Win back")
    failed = make_activity(commerce, reason="Payment reminder")
    failed.dispatch_exhausted()  # FAILED the way the dispatcher fails it (a force retry applies)
    failed.dispatch_attempt_count = 3
    failed.save(update_fields=["status", "failed_by", "dispatch_attempt_count"])
    canceled = activity_in(commerce, ActivityStatus.CANCELED, reason="Old campaign")
    # last_order is CALLER_PROVIDED in this tenant and the activity does not give it: UNRESOLVED, the value missing.
    # (get_or_create: like the roles, the seeded keys do not always come back after a transactional test)
    last_order, _ = AttributeKey.objects.get_or_create(key="last_order", defaults={"label": "Last order"})
    AttributePolicyFactory(tenant=tenant, attribute_key=last_order,
                           strategy=AttributeStrategy.CALLER_PROVIDED)
    unresolved = make_activity(commerce, reason="Missing last order", attribute_keys=["last_order"])
    assert unresolved.status == ActivityStatus.UNRESOLVED
    config = dispatch_factories.config(tenant, credentials={"apiKey": SECRET})
    foreign = make_activity(commerce_with_rep(other, name="Someone Else's Store"), reason="Their business")
    return World(tenant, other, commerce, ready, failed, canceled, unresolved, config, foreign)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls of the steps are plain sync code.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()


@pytest.fixture(params=list(PERSONAS))
def persona(request):
    return PERSONAS[request.param]


@pytest.fixture
def console(browser, live_server, settings, world, persona):
    """A logged-in page for `persona`: console.page, console.url(path), console.shot(step)."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server speaks http
    user = persona.make_user(world)
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10000)
    session = Console(page, live_server.url, persona, user)
    session.login()
    yield session
    context.close()


class Console:
    def __init__(self, page, base_url, persona, user):
        self.page, self.base_url, self.persona, self.user = page, base_url, persona, user

    def url(self, path):
        return f"{self.base_url}{path}"

    def goto(self, path):
        return self.page.goto(self.url(path))

    def shot(self, step):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.persona.name}-{step}.png"), full_page=True)

    def login(self):
        self.goto("/admin/login/?next=/admin/")
        self.page.get_by_label(re.compile("email", re.I)).fill(self.user.email)
        self.page.get_by_label(re.compile("password", re.I)).fill(PASSWORD)
        self.page.get_by_role("button", name=re.compile("log in|sign in", re.I)).click()
        self.page.wait_for_url(re.compile(r"^[^?]*/admin/$"))  # the dashboard, not the login page's ?next=/admin/

    def change_link(self, obj):
        return self.page.locator(f'a[href*="/{obj.pk}/change/"]')

    def listed_activities(self):
        """The ids of the activities the list shows (the change links of its result rows)."""
        hrefs = self.page.locator('#result_list a[href*="/activities/activity/"]').evaluate_all(
            "links => links.map(link => link.getAttribute('href'))")
        return {match.group(1) for href in hrefs
                if (match := re.search(r"/activities/activity/([0-9a-f-]{36})/change/", href))}

    def press(self, name):
        """Press a button of the page (a real <button>, reachable by keyboard)."""
        self.page.get_by_role("button", name=re.compile(name, re.I)).first.click()
        self.page.wait_for_load_state()

    def transition(self, name, reason=None):
        """A transition at the top of the activity page: its link opens a confirmation page (with a reason for
        Cancel and Force retry), whose button runs it. Returns False when the page offers no such link."""
        link = self.page.get_by_role("link", name=re.compile(rf"^\s*\S*\s*{name}", re.I))
        if not link.count():
            return False
        link.first.click()
        self.page.wait_for_load_state()
        if reason is not None:
            self.page.get_by_label(re.compile("reason", re.I)).fill(reason)
        self.press(rf"yes, {name}")
        return True


# Visible inputs, selects and textareas that no <label>, aria-label or aria-labelledby names (by name or id).
UNLABELLED_FIELDS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
    .filter(el => el.type !== 'hidden' && el.getClientRects().length > 0)
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !el.getAttribute('aria-labelledby'))
    .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""


def tab_to(page, matches, limit=150):
    """Press Tab until the focused element satisfies `matches` (a JS predicate of the element); its text, or None
    when `limit` presses never get there."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        found = page.evaluate(f"() => {{ const el = document.activeElement; return ({matches})(el) ? "
                              f"(el.innerText || el.name || el.id || '').trim() : null; }}")
        if found is not None:
            return found
    return None


def events(activity, event_type):
    return list(StatusEvent.objects.filter(activity=activity, event_type=event_type))


def test_logs_in(console):
    page = console.page
    assert page.url == console.url("/admin/")
    assert page.get_by_role("link", name=re.compile(r"^activities$", re.I)).first.is_visible()
    console.shot("01-logged-in")


def test_follows_a_dashboard_figure_to_the_filtered_list(console, world):
    page = console.page
    console.goto("/admin/")
    assert page.get_by_label("Tenant").locator("option:checked").inner_text() == "Acme Retail"
    console.shot("01-dashboard")
    channel = world.ready.channel
    figure = page.locator("#status-counts").get_by_role("link", name=f"1 READY {channel}", exact=True)
    figure.click()
    page.wait_for_url(re.compile(r"status__exact=READY"))
    console.shot("01-dashboard-figure-followed")
    assert f"tenant__id__exact={world.tenant.pk}" in page.url and f"channel__exact={channel}" in page.url
    # exactly the counted row: not the FAILED, CANCELED or UNRESOLVED ones, nor the other tenant's READY one
    assert console.listed_activities() == {str(world.ready.pk)}


def test_filters_activities_by_status(console, world):
    page = console.page
    console.goto("/admin/activities/activity/")
    page.get_by_role("button", name=re.compile(r"filters", re.I)).first.click()
    page.get_by_role("link", name=re.compile(r"^failed$", re.I)).first.click()
    page.wait_for_url(re.compile(r"status__exact=FAILED"))
    console.shot("02-filtered-by-status")
    assert console.change_link(world.failed).count() >= 1
    assert console.change_link(world.ready).count() == 0
    assert console.change_link(world.canceled).count() == 0


def test_cancels_a_ready_activity_from_its_page(console, world):
    console.goto(f"/admin/activities/activity/{world.ready.pk}/change/")
    console.shot("03-ready-activity")
    pressed = console.transition("cancel", reason="Store closed for renovation")
    console.shot("03-canceled")
    world.ready.refresh_from_db()
    assert pressed is console.persona.may_operate
    assert world.ready.status == (ActivityStatus.CANCELED if console.persona.may_operate else ActivityStatus.READY)
    assert [(event.actor_user_id, event.error_message) for event in events(world.ready, EventType.CANCELED)] == (
        [(console.user.pk, "Store closed for renovation")] if console.persona.may_operate else [])
    if console.persona.may_operate:
        assert console.page.get_by_text(re.compile("now CANCELED")).first.is_visible()
    else:  # the URL of the button is refused too
        assert console.goto(f"/admin/activities/activity/{world.ready.pk}/cancel/").status == 403


def test_repairs_an_unresolved_activity_by_giving_the_missing_value(console, world):
    page = console.page
    console.goto(f"/admin/activities/activity/{world.unresolved.pk}/change/")
    console.shot("03b-unresolved-activity")
    attribute = world.unresolved.attributes.get(attribute_key__key="last_order")
    repair_url = f"/admin/activities/activity/{world.unresolved.pk}/attributes/{attribute.pk}/resolve/"
    link = page.get_by_role("link", name=re.compile(r"^set a value$", re.I))
    if not console.persona.may_repair:  # no link, and its URL is refused
        assert link.count() == 0
        assert console.goto(repair_url).status == 403
        world.unresolved.refresh_from_db()
        assert world.unresolved.status == ActivityStatus.UNRESOLVED
        assert events(world.unresolved, EventType.ATTRIBUTE_RESOLVED) == []
        return
    link.first.click()
    page.wait_for_url(re.compile(re.escape(repair_url)))
    page.get_by_label(re.compile(r"value", re.I)).fill('{"daysAgo": 3}')
    console.shot("03b-manual-value-form")
    console.press("set value")
    page.wait_for_url(re.compile(f"/{world.unresolved.pk}/change/$"))
    console.shot("03b-repaired")
    assert page.get_by_text("Attribute last_order set by hand; the activity is now READY.").first.is_visible()
    world.unresolved.refresh_from_db()
    attribute.refresh_from_db()
    assert world.unresolved.status == ActivityStatus.READY
    assert (attribute.value, attribute.resolution_status, attribute.resolver_type) == (
        {"daysAgo": 3}, "RESOLVED", "MANUAL")
    assert [event.actor_user_id for event in events(world.unresolved, EventType.ATTRIBUTE_RESOLVED)] == [
        console.user.pk]


def test_force_retries_a_failed_activity(console, world):
    console.goto(f"/admin/activities/activity/{world.failed.pk}/change/")
    pressed = console.transition("force retry", reason="Provider fixed")
    console.shot("04-force-retried")
    world.failed.refresh_from_db()
    assert pressed is console.persona.may_operate
    if console.persona.may_operate:
        assert (world.failed.status, world.failed.dispatch_attempt_count) == (ActivityStatus.READY, 0)
        assert [event.actor_user_id for event in events(world.failed, EventType.FORCE_RETRY)] == [console.user.pk]
    else:
        assert world.failed.status == ActivityStatus.FAILED and events(world.failed, EventType.FORCE_RETRY) == []


def test_a_dispatch_config_shows_only_masked_credentials(console, world):
    page = console.page
    console.goto("/admin/dispatch/dispatchconfig/")
    console.change_link(world.config).first.click()
    page.wait_for_url(re.compile(f"/{world.config.pk}/change/"))
    console.shot("05-dispatch-config")
    content = page.content()
    assert SECRET not in content
    assert page.get_by_text(re.compile(r"apiKey: •+")).first.is_visible()
    credential = page.get_by_label(re.compile("api key", re.I))
    if console.persona.may_operate:  # MANAGE_ACTIVITY_CONFIG: the form, with an empty password input
        assert credential.get_attribute("type") == "password" and credential.input_value() == ""
    else:  # a VIEWER reads the config: no input at all
        assert credential.count() == 0


def test_exports_the_filtered_activities_as_csv(console, world):
    page = console.page
    console.goto("/admin/activities/activity/?status__exact=READY")
    page.get_by_role("link", name=re.compile(r"^export$", re.I)).first.click()
    page.wait_for_url(re.compile(r"/export/\?status__exact=READY"))
    format_choice = page.get_by_label(re.compile("format", re.I))
    format_choice.select_option(label="csv")
    console.shot("06-export-form")
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("submit|export", re.I)).first.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    expected = {str(world.ready.pk)} | ({str(world.foreign.pk)} if console.persona.sees_other_tenant else set())
    assert {row["id"] for row in rows} == expected
    assert {row["status"] for row in rows} == {"READY"}


def test_imports_commerces_from_csv_with_a_preview(console, world, tmp_path):
    page = console.page
    source = tmp_path / "commerces.csv"
    source.write_text("external_id,name,address_city,address_country_code\n"
                      "C-100,Don Pedro Renamed,,\nC-200,Almacen Nuevo,Santiago,CL\n,No key,,\n")
    if not console.persona.may_import_commerces:  # a VIEWER does not even see the commerces (MANAGE_COMMERCES)
        assert console.goto("/admin/commerces/commerce/import/").status == 403
        console.shot("07-import-refused")
        return
    console.goto("/admin/commerces/commerce/")
    page.get_by_role("link", name=re.compile(r"^import$", re.I)).first.click()
    page.get_by_label(re.compile("tenant", re.I)).select_option(label=str(world.tenant))
    page.get_by_label(re.compile("file to import", re.I)).set_input_files(str(source))
    console.shot("07-import-form")
    # (unfold's file input is itself a button named "Choose file to upload": the submit button by its exact name)
    page.get_by_role("button", name=re.compile(r"^\s*(submit|preview)\s*$", re.I)).first.click()
    page.get_by_role("button", name=re.compile("confirm import", re.I)).wait_for()
    console.shot("07-import-preview")
    preview = page.get_by_role("table").last
    for line in ("C-100", "C-200", "Refused", "external_id: This field is required."):
        assert preview.get_by_text(line, exact=False).first.is_visible(), line
    assert not Commerce.objects.filter(external_id="C-200").exists()  # a preview writes nothing
    page.get_by_role("button", name=re.compile("confirm import", re.I)).click()
    page.get_by_text(re.compile("Import finished: 1 created, 1 updated")).wait_for()
    console.shot("07-imported")
    assert Commerce.objects.get(external_id="C-200").tenant_id == world.tenant.pk
    assert Commerce.objects.get(pk=world.commerce.pk).name == "Don Pedro Renamed"


def test_a_url_of_the_other_tenants_object(console, world):
    response = console.goto(f"/admin/activities/activity/{world.foreign.pk}/change/")
    console.shot("08-other-tenant-object")
    content = console.page.content()
    if console.persona.sees_other_tenant:
        assert response.status == 200 and "Their business" in content
    else:
        assert response.status == 404
        assert "Their business" not in content and "Someone Else" not in content


def test_the_cancel_confirmation_is_reached_and_used_by_keyboard(console, world):
    page = console.page
    console.goto(f"/admin/activities/activity/{world.ready.pk}/change/")
    if not console.persona.may_operate:  # nothing to reach: the button is not on the page
        assert page.get_by_role("link", name=re.compile(r"cancel", re.I)).count() == 0
        return
    reached = tab_to(page, "el => el.tagName === 'A' && /Cancel…/.test(el.innerText)")
    assert reached is not None and "Cancel…" in reached
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/{world.ready.pk}/cancel/$"))
    console.shot("09-cancel-confirmation-by-keyboard")
    assert page.evaluate(UNLABELLED_FIELDS) == []
    assert tab_to(page, "el => el.id === 'id_reason'") is not None
    page.keyboard.type("Closed, by keyboard")
    assert tab_to(page, "el => el.tagName === 'BUTTON' && /Yes, cancel/.test(el.innerText)") is not None
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/{world.ready.pk}/change/$"))
    console.shot("09-canceled-by-keyboard")
    world.ready.refresh_from_db()
    assert world.ready.status == ActivityStatus.CANCELED
    assert [event.error_message for event in events(world.ready, EventType.CANCELED)] == ["Closed, by keyboard"]


def test_the_login_page_fields_are_labelled(browser, live_server, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "anonymous-10-login.png"), full_page=True)
        assert page.locator("input:visible").count() >= 2  # e-mail and password at least
        assert page.evaluate(UNLABELLED_FIELDS) == []
    finally:
        context.close()
