"""The audit trail of configuration (SPEC 11.5), kept by django-auditlog.

Each app registers its own configuration models in its AppConfig.ready() with `audit_register` (a webhooks app
does the same for its endpoints): auditlog records create / change / delete with the field changes. Secrets never
reach an entry: API keys exclude `key_hash`; dispatch configs keep `credential_keys` (the names) and record
`credentials_encrypted` only as "[redacted]", so a rotation is on record without the ciphertext.

Who acted: auditlog's middleware only sees the session user (the admin); DRF authenticates JWT and API-key callers
later, in the view, so the tenancy step calls `set_request_actor` once it knows the caller. An API key acts for its
creator: the entry's actor is the creator and `additional_data.api_key_id` names the key. The tenant of the object
is `additional_data.tenant_id` (from the model's `get_additional_data`, see reten/models.py), which is what
`GET /api/audit-log` scopes on; global objects (providers, channel definitions, roles) carry none.
"""
import contextlib
from contextvars import ContextVar
from dataclasses import dataclass

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.db.models.signals import pre_save

# Bookkeeping fields that change on every save and say nothing about who changed what.
NOISE_FIELDS = ("created_at", "updated_at")


@dataclass(frozen=True)
class RequestActor:
    user: object
    api_key_id: object | None


_request_actor: ContextVar[RequestActor | None] = ContextVar("reten_audit_actor", default=None)


# object_type (the `object_type` filter and field of GET /api/audit-log) -> model, filled by audit_register.
OBJECT_TYPES: dict[str, type] = {}


REDACTED = "[redacted]"


def redact(value: str) -> str:
    """auditlog's mask for secret fields: says a secret was set or changed, never any part of it."""
    return "" if value in ("", "None") else REDACTED


def audit_register(model, *, object_type, exclude_fields=(), secret_fields=(), m2m_fields=()):
    """Track creates, changes and deletes of `model` under `object_type`.

    `exclude_fields` never reach an entry; `secret_fields` appear only as "[redacted]" when they change (so a
    rotated credential is on record with no byte of it, ciphertext included).
    """
    OBJECT_TYPES[object_type] = model
    auditlog.register(model, exclude_fields=[*NOISE_FIELDS, *exclude_fields], mask_fields=list(secret_fields),
                      mask_callable="reten.audit.redact", m2m_fields=set(m2m_fields))


def object_type_of(model) -> str | None:
    return next((name for name, registered in OBJECT_TYPES.items() if registered is model), None)


def set_request_actor(*, user, api_key=None):
    """Called once the API caller is authenticated; lasts until `request_scope` ends."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    _request_actor.set(RequestActor(user=user, api_key_id=getattr(api_key, "id", None)))


@contextlib.contextmanager
def request_scope():
    """One request: the actor set during it never leaks into the next request served by the same thread."""
    token = _request_actor.set(None)
    try:
        yield
    finally:
        _request_actor.reset(token)


def stamp_entry(sender, instance, **kwargs):
    """pre_save of LogEntry: the API caller as actor, and the API key (if any) in additional_data."""
    actor = _request_actor.get()
    if actor is None or instance.pk is not None:
        return
    if instance.actor_id is None:
        instance.actor = actor.user
        instance.actor_email = getattr(actor.user, "email", None)
    if actor.api_key_id is not None:
        instance.additional_data = {**(instance.additional_data or {}), "api_key_id": str(actor.api_key_id)}


def connect():
    pre_save.connect(stamp_entry, sender=LogEntry, dispatch_uid="reten.audit.stamp_entry")
