"""The dispatch-config admin never answers 500 for a conflict and never shows a typed credential (SPEC 7)."""
import pytest
from django.views.debug import ExceptionReporter

from dispatch import services
from dispatch.models import DispatchConfig, DispatchProvider
from dispatch.services import configs, provider_config_of
from dispatch.tests import factories

pytestmark = pytest.mark.django_db

ADD = "/admin/dispatch/dispatchconfig/add/"
SECRET = "sk_typed_in_the_admin_4242"


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def yom():
    return DispatchProvider.objects.get(code="YOM")


def add_form(tenant, yom, **extra):
    return {"tenant": str(tenant.id), "provider": str(yom.id), "channel": "SALESMAN",
            "base_url": "https://yom.example", "settings": "{}", "credential__apiKey": SECRET, **extra}


def test_an_active_second_config_is_a_form_error_naming_the_channel(staff_client, tenant, yom):
    existing = factories.config(tenant, channel="SALESMAN")

    response = staff_client.post(ADD, add_form(tenant, yom, is_active="on"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "is_active": ["This tenant already has an active config for SALESMAN."]}
    assert SECRET not in response.content.decode()  # the password input is not filled back in
    assert list(DispatchConfig.objects.values_list("pk", flat=True)) == [existing.pk]


def test_an_inactive_second_config_is_created_inactive(staff_client, tenant, yom):
    existing = factories.config(tenant, channel="SALESMAN")

    response = staff_client.post(ADD, add_form(tenant, yom))  # "Is active" unchecked

    assert response.status_code == 302
    added = DispatchConfig.objects.select_related("provider").exclude(pk=existing.pk).get()
    assert (added.tenant, added.channel, added.is_active) == (tenant, "SALESMAN", False)
    assert provider_config_of(added).credentials == {"apiKey": SECRET}
    assert DispatchConfig.objects.get(pk=existing.pk).is_active is True


def test_a_config_activated_meanwhile_is_an_error_message_not_a_500(staff_client, tenant, yom, monkeypatch):
    real_create = services.dispatch_config_create

    def create_after_another_admin_did(**kwargs):
        factories.config(tenant, channel="SALESMAN")  # between the form's check and the write
        return real_create(**kwargs)

    monkeypatch.setattr(services, "dispatch_config_create", create_after_another_admin_did)

    response = staff_client.post(ADD, add_form(tenant, yom, is_active="on"), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(ADD, 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "An active dispatch config already exists for channel SALESMAN; deactivate it first"]
    assert not DispatchConfig.objects.exists()  # the admin's transaction rolled back, the competitor's too


@pytest.mark.parametrize("page", ["add", "change"])
def test_an_unexpected_error_with_debug_on_never_shows_the_typed_credential(staff_client, tenant, yom, settings,
                                                                            monkeypatch, caplog, page):
    settings.DEBUG = True
    url, form = ADD, add_form(tenant, yom, is_active="on")
    if page == "change":
        config = factories.config(tenant, channel="SALESMAN", credentials={"apiKey": "stored-before"})
        url = f"/admin/dispatch/dispatchconfig/{config.id}/change/"
        form = {"base_url": "https://yom.example", "settings": "{}", "is_active": "on", "credential__apiKey": SECRET}

    def encryption_bug(credentials, **kwargs):
        raise RuntimeError("encryption exploded")

    monkeypatch.setattr(configs.crypto, "encrypt_credentials", encryption_bug)
    staff_client.raise_request_exception = False

    response = staff_client.post(url, form)

    assert response.status_code == 500
    page_html = response.content.decode()
    assert "encryption exploded" in page_html and "save_model" in page_html  # the technical page, with frames
    assert "credential__apiKey" in page_html  # the POST parameter is listed, its value hidden
    assert SECRET not in page_html
    reporter = ExceptionReporter(response.wsgi_request, *response.exc_info)
    assert SECRET not in reporter.get_traceback_html()
    text = reporter.get_traceback_text()  # what the error e-mail (AdminEmailHandler) carries
    assert "encryption exploded" in text and SECRET not in text
    assert "Internal Server Error" in caplog.text and SECRET not in caplog.text
