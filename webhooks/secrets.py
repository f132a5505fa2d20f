"""Endpoint signing secrets: `whsec_` + base64 (Standard Webhooks), stored encrypted like dispatch credentials."""
import base64
import os

from django.db import transaction

from dispatch import crypto
from webhooks.models import WebhookEndpoint

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


def secrets_rotate(*, batch_size=200) -> tuple[str, int, int]:
    """Re-encrypt every endpoint's secret with the current key of the ring (for `rotate_credentials_key`, through
    dispatch.hooks). Returns (what they are, re-encrypted, previously on another key)."""
    current = crypto.key_ring().current_id
    total = moved = 0
    ids = list(WebhookEndpoint.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            for endpoint in WebhookEndpoint.objects.select_for_update().filter(pk__in=ids[start:start + batch_size]):
                secret = endpoint_secret(endpoint)
                if crypto.key_id_of(endpoint.secret_encrypted) != current:
                    moved += 1
                set_secret(endpoint, secret)
                endpoint.save(update_fields=["secret_encrypted", "updated_at"])
                total += 1
    return "webhook endpoint secret(s)", total, moved
