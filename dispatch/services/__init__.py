"""Dispatch services: providers, configs, the dispatcher and its entry points (SPEC 5)."""
from dispatch.services.configs import (
    callback_secret_of,
    callback_secret_rotate,
    credentials_rotate,
    dispatch_config_create,
    dispatch_config_deactivate,
    dispatch_config_test,
    dispatch_config_update,
    provider_config_of,
)
from dispatch.services.dispatcher import (
    DispatchReport,
    dispatch_activities_if_due,
    dispatch_activity_if_due,
    dispatch_now,
    dispatch_pass,
)
from dispatch.services.enqueue import enqueue_if_due, enqueue_many_if_due
from dispatch.services.providers import (
    channel_definition_create,
    channel_definition_delete,
    channel_definition_update,
    provider_create,
    provider_update,
)

__all__ = [
    "DispatchReport",
    "channel_definition_create",
    "channel_definition_delete",
    "channel_definition_update",
    "callback_secret_of",
    "callback_secret_rotate",
    "credentials_rotate",
    "dispatch_activities_if_due",
    "dispatch_activity_if_due",
    "dispatch_config_create",
    "dispatch_config_deactivate",
    "dispatch_config_test",
    "dispatch_config_update",
    "dispatch_now",
    "dispatch_pass",
    "enqueue_if_due",
    "enqueue_many_if_due",
    "provider_config_of",
    "provider_create",
    "provider_update",
]
