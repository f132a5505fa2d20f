"""Credentials at rest: AES-256-GCM with a key ring from RETEN_CREDENTIALS_KEYS (SPEC 5.2).

RETEN_CREDENTIALS_KEYS is "keyid:base64,keyid:base64": the first key encrypts, every key decrypts, so a
new key can be put first and `manage.py rotate_credentials_key` re-encrypts what the old ones wrote.
A stored value is "keyid:nonce:ciphertext" (nonce and ciphertext base64); the tenant id and config id are
the associated data, so a ciphertext copied onto another config or tenant does not decrypt.
"""
import base64
import binascii
import json
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from reten.keyring import KEY_BYTES, CredentialsKeyError, parse_key_entries  # noqa: F401  (part of this API)

NONCE_BYTES = 12


class CredentialsDecryptError(Exception):
    """A stored value cannot be decrypted: unknown key id, tampered bytes or another config's ciphertext."""


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    keys: dict

    def cipher(self, key_id):
        try:
            return AESGCM(self.keys[key_id])
        except KeyError:
            raise CredentialsDecryptError(
                f"Credentials were encrypted with key {key_id!r}, which is not in RETEN_CREDENTIALS_KEYS"
            ) from None


@lru_cache(maxsize=4)
def parse_key_ring(raw):
    keys = parse_key_entries(raw)
    return KeyRing(current_id=next(iter(keys)), keys=keys)


def key_ring():
    return parse_key_ring(settings.RETEN_CREDENTIALS_KEYS)


def associated_data(tenant_id, config_id):
    return f"{tenant_id}:{config_id}".encode()


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def encrypt_credentials(credentials, *, tenant_id, config_id):
    """A dict of credentials -> "keyid:nonce:ciphertext" bound to this tenant and config."""
    ring = key_ring()
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(credentials, separators=(",", ":"), sort_keys=True).encode()
    ciphertext = ring.cipher(ring.current_id).encrypt(nonce, plaintext, associated_data(tenant_id, config_id))
    return f"{ring.current_id}:{_b64(nonce)}:{_b64(ciphertext)}"


def key_id_of(stored):
    return stored.split(":", 1)[0] if stored else None


def decrypt_credentials(stored, *, tenant_id, config_id):
    """The inverse of encrypt_credentials. An empty stored value means no credentials."""
    if not stored:
        return {}
    parts = stored.split(":")
    if len(parts) != 3:
        raise CredentialsDecryptError("Stored credentials are not in keyid:nonce:ciphertext form")
    key_id, nonce_b64, ciphertext_b64 = parts
    cipher = key_ring().cipher(key_id)
    try:
        nonce = base64.b64decode(nonce_b64, validate=True)
        ciphertext = base64.b64decode(ciphertext_b64, validate=True)
        plaintext = cipher.decrypt(nonce, ciphertext, associated_data(tenant_id, config_id))
    except (binascii.Error, ValueError, InvalidTag):
        raise CredentialsDecryptError(
            "Stored credentials cannot be decrypted (tampered, or encrypted for another tenant or config)"
        ) from None
    return json.loads(plaintext)


# --- the per-config callback secret (SPEC 6.2) ------------------------------------------------------------------
# Encrypted with the same ring, bound to the tenant, the config and its purpose: it cannot be swapped with the
# config's credentials (or another config's secret) and still decrypt.
CALLBACK_SECRET_PREFIX = "whsec_"
CALLBACK_SECRET_BYTES = 32


def new_callback_secret():
    """A Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    return CALLBACK_SECRET_PREFIX + _b64(os.urandom(CALLBACK_SECRET_BYTES))


def _callback_data(tenant_id, config_id):
    return associated_data(tenant_id, config_id) + b":callback-secret"


def encrypt_callback_secret(secret, *, tenant_id, config_id):
    ring = key_ring()
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = ring.cipher(ring.current_id).encrypt(nonce, secret.encode(), _callback_data(tenant_id, config_id))
    return f"{ring.current_id}:{_b64(nonce)}:{_b64(ciphertext)}"


def decrypt_callback_secret(stored, *, tenant_id, config_id):
    """The plaintext secret, or "" when none is stored."""
    if not stored:
        return ""
    parts = stored.split(":")
    if len(parts) != 3:
        raise CredentialsDecryptError("The stored callback secret is not in keyid:nonce:ciphertext form")
    key_id, nonce_b64, ciphertext_b64 = parts
    cipher = key_ring().cipher(key_id)
    try:
        plaintext = cipher.decrypt(base64.b64decode(nonce_b64, validate=True),
                                   base64.b64decode(ciphertext_b64, validate=True),
                                   _callback_data(tenant_id, config_id))
    except (binascii.Error, ValueError, InvalidTag):
        raise CredentialsDecryptError("The stored callback secret cannot be decrypted") from None
    return plaintext.decode()
