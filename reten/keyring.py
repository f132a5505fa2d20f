"""The format of RETEN_CREDENTIALS_KEYS, "keyid:base64,keyid:base64" (32-byte AES keys; the first encrypts).

It lives in `reten` so the settings can refuse a malformed ring at start-up (SPEC 9); dispatch/crypto.py builds
its ciphers from the same parse.
"""
import base64
import binascii

from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32


class CredentialsKeyError(ImproperlyConfigured):
    """RETEN_CREDENTIALS_KEYS is missing or malformed."""


def parse_key_entries(raw):
    """{key_id: key bytes} in the order given (the first encrypts); CredentialsKeyError names what is wrong."""
    keys = {}
    for pair in (item.strip() for item in (raw or "").split(",")):
        if not pair:
            continue
        key_id, separator, encoded = pair.partition(":")
        key_id = key_id.strip()
        if not separator or not key_id:
            raise CredentialsKeyError("RETEN_CREDENTIALS_KEYS entries must look like keyid:base64")
        if key_id in keys:
            raise CredentialsKeyError(f"RETEN_CREDENTIALS_KEYS names key {key_id!r} twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise CredentialsKeyError(f"RETEN_CREDENTIALS_KEYS: key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise CredentialsKeyError(
                f"RETEN_CREDENTIALS_KEYS: key {key_id!r} must decode to {KEY_BYTES} bytes, got {len(key)}"
            )
        keys[key_id] = key
    if not keys:
        raise CredentialsKeyError("RETEN_CREDENTIALS_KEYS is not set; it must hold at least one keyid:base64 pair")
    return keys
