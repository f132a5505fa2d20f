"""Endpoint signing secrets: `whsec_` + base64 (Standard Webhooks), stored encrypted like dispatch credentials."""
import base64
import os

from dispatch import crypto

SECRET_BYTES = 24
PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def _binding(endpoint):
    # Bound to this tenant and endpoint: a ciphertext copied onto another endpoint does not decrypt.
    return {"tenant_id": endpoint.tenant_id, "config_id": f"webhook-endpoint:{endpoint.pk}"}


def set_secret(endpoint, secret: str) -> None:
    endpoint.secret_encrypted = crypto.encrypt_credentials({"secret": secret}, **_binding(endpoint))


def endpoint_secret(endpoint) -> str:
    return crypto.decrypt_credentials(endpoint.secret_encrypted, **_binding(endpoint))["secret"]
