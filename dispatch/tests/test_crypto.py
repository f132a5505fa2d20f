import base64
import os
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dispatch import crypto
from dispatch.models import DispatchConfig
from dispatch.services import provider_config_of
from dispatch.tests import factories


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


KEY_A = new_key()
KEY_B = new_key()


def test_round_trip_binds_tenant_and_config(settings):
    settings.RETEN_CREDENTIALS_KEYS = f"a:{KEY_A}"
    tenant_id, config_id = uuid.uuid4(), uuid.uuid4()

    stored = crypto.encrypt_credentials({"apiKey": "s3cret"}, tenant_id=tenant_id, config_id=config_id)

    key_id, nonce, ciphertext = stored.split(":")
    assert key_id == "a" and len(base64.b64decode(nonce)) == 12
    assert b"s3cret" not in base64.b64decode(ciphertext)
    assert crypto.decrypt_credentials(stored, tenant_id=tenant_id, config_id=config_id) == {"apiKey": "s3cret"}


def test_every_encryption_uses_a_fresh_nonce(settings):
    settings.RETEN_CREDENTIALS_KEYS = f"a:{KEY_A}"
    ids = {"tenant_id": uuid.uuid4(), "config_id": uuid.uuid4()}
    assert crypto.encrypt_credentials({"k": "v"}, **ids) != crypto.encrypt_credentials({"k": "v"}, **ids)


@pytest.mark.parametrize("other", ["tenant_id", "config_id"])
def test_wrong_associated_data_does_not_decrypt(settings, other):
    settings.RETEN_CREDENTIALS_KEYS = f"a:{KEY_A}"
    ids = {"tenant_id": uuid.uuid4(), "config_id": uuid.uuid4()}
    stored = crypto.encrypt_credentials({"apiKey": "s3cret"}, **ids)

    with pytest.raises(crypto.CredentialsDecryptError):
        crypto.decrypt_credentials(stored, **{**ids, other: uuid.uuid4()})


def test_tampered_ciphertext_does_not_decrypt(settings):
    settings.RETEN_CREDENTIALS_KEYS = f"a:{KEY_A}"
    ids = {"tenant_id": uuid.uuid4(), "config_id": uuid.uuid4()}
    key_id, nonce, ciphertext = crypto.encrypt_credentials({"apiKey": "s3cret"}, **ids).split(":")
    raw = bytearray(base64.b64decode(ciphertext))
    raw[0] ^= 1
    with pytest.raises(crypto.CredentialsDecryptError):
        crypto.decrypt_credentials(f"{key_id}:{nonce}:{base64.b64encode(bytes(raw)).decode()}", **ids)


def test_first_key_encrypts_and_every_key_decrypts(settings):
    ids = {"tenant_id": uuid.uuid4(), "config_id": uuid.uuid4()}
    settings.RETEN_CREDENTIALS_KEYS = f"old:{KEY_A}"
    old = crypto.encrypt_credentials({"apiKey": "x"}, **ids)

    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B},old:{KEY_A}"
    assert crypto.decrypt_credentials(old, **ids) == {"apiKey": "x"}
    assert crypto.encrypt_credentials({"apiKey": "x"}, **ids).startswith("new:")

    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B}"
    with pytest.raises(crypto.CredentialsDecryptError, match="'old'"):
        crypto.decrypt_credentials(old, **ids)


@pytest.mark.parametrize("raw, message", [
    ("", "not set"),
    ("nokey", "keyid:base64"),
    (f"a:{base64.b64encode(b'short').decode()}", "32 bytes, got 5"),
    ("a:%%%notbase64", "not valid base64"),
    (f"a:{KEY_A},a:{KEY_B}", "twice"),
])
def test_malformed_key_ring_is_a_clear_error(settings, raw, message):
    settings.RETEN_CREDENTIALS_KEYS = raw
    with pytest.raises(crypto.CredentialsKeyError, match=message):
        crypto.encrypt_credentials({}, tenant_id=1, config_id=2)


@pytest.mark.django_db
def test_rotate_credentials_key_re_encrypts_every_config(settings, tenant, other_tenant):
    settings.RETEN_CREDENTIALS_KEYS = f"old:{KEY_A}"
    configs = [factories.config(tenant, channel="SALESMAN", credentials={"apiKey": "k1"}),
               factories.config(other_tenant, channel="CALLCENTER", credentials={"apiKey": "k2"})]
    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B},old:{KEY_A}"
    out = StringIO()

    call_command("rotate_credentials_key", stdout=out)

    assert out.getvalue().strip() == "Re-encrypted 2 dispatch config(s) with key 'new' (2 were on an older key)."
    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B}"  # the old key can now be dropped
    for config, secret in zip(configs, ["k1", "k2"], strict=True):
        stored = DispatchConfig.objects.select_related("provider").get(pk=config.pk)
        assert stored.credentials_encrypted.startswith("new:")
        assert provider_config_of(stored).credentials == {"apiKey": secret}


@pytest.mark.django_db
def test_rotate_with_a_missing_old_key_fails_with_one_line(settings, tenant):
    settings.RETEN_CREDENTIALS_KEYS = f"old:{KEY_A}"
    factories.config(tenant, channel="SALESMAN")
    settings.RETEN_CREDENTIALS_KEYS = f"new:{KEY_B}"
    with pytest.raises(CommandError, match="'old', which is not in RETEN_CREDENTIALS_KEYS"):
        call_command("rotate_credentials_key", stdout=StringIO())
