"""Endpoint signing secrets: `whsec_` + base64 (Standard Webhooks), stored encrypted like dispatch credentials."""
import base64
import os

from dispatch import crypto

SECRET_BYTES = 24
PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def _binding(endpoint):
    return _bound_to(endpoint.tenant_id, endpoint.pk)


def _bound_to(tenant_id, endpoint_id):
    # Bound to this tenant and endpoint: a ciphertext copied onto another endpoint does not decrypt.
    return {"tenant_id": tenant_id, "config_id": f"webhook-endpoint:{endpoint_id}"}


def set_secret(endpoint, secret: str) -> None:
    endpoint.secret_encrypted = crypto.encrypt_credentials({"secret": secret}, **_binding(endpoint))


def endpoint_secret(endpoint) -> str:
    return decrypt_secret(endpoint.secret_encrypted, tenant_id=endpoint.tenant_id, endpoint_id=endpoint.pk)


def decrypt_secret(stored: str, *, tenant_id, endpoint_id) -> str:
    return crypto.decrypt_credentials(stored, **_bound_to(tenant_id, endpoint_id))["secret"]
