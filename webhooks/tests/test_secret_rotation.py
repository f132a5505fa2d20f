"""`manage.py rotate_credentials_key` re-encrypts webhook endpoint secrets too (SPEC 8), so the old key can go."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from webhooks.models import WebhookEndpoint
from webhooks.secrets import endpoint_secret
from webhooks.tests import factories

pytestmark = pytest.mark.django_db

KEY_A = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
KEY_B = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="


def test_rotation_moves_every_endpoint_secret_to_the_new_key(settings, tenant, other_tenant):
    settings.RETEN_CREDENTIALS_KEYS = f"old:{KEY_A}"
    created = [factories.endpoint_with_secret(tenant), factories.endpoint_with_secret(other_tenant)]
    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B},old:{KEY_A}"
    out = StringIO()

    call_command("rotate_credentials_key", stdout=out)

    assert out.getvalue().splitlines()[-1] == ("Re-encrypted 2 webhook endpoint secret(s) with key 'new' "
                                               "(2 were on an older key).")
    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B}"  # the old key can now be dropped
    for made in created:
        stored = WebhookEndpoint.objects.get(pk=made.endpoint.pk)
        assert stored.secret_encrypted.startswith("new:")
        assert endpoint_secret(stored) == made.secret  # the same secret: receivers change nothing


def test_a_second_rotation_finds_nothing_on_an_older_key(settings, tenant):
    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B}"
    factories.endpoint_with_secret(tenant)
    out = StringIO()
    call_command("rotate_credentials_key", stdout=out)
    assert out.getvalue().splitlines()[-1] == ("Re-encrypted 1 webhook endpoint secret(s) with key 'new' "
                                               "(0 were on an older key).")


def test_a_secret_on_a_key_no_longer_in_the_ring_fails_with_one_line(settings, tenant):
    settings.RETEN_CREDENTIALS_KEYS = f"old:{KEY_A}"
    made = factories.endpoint_with_secret(tenant)
    before = WebhookEndpoint.objects.get(pk=made.endpoint.pk).secret_encrypted
    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B}"
    with pytest.raises(CommandError, match="'old', which is not in RETEN_CREDENTIALS_KEYS"):
        call_command("rotate_credentials_key", stdout=StringIO())
    assert WebhookEndpoint.objects.get(pk=made.endpoint.pk).secret_encrypted == before  # nothing half-written
