"""The tenant's activity configuration: target resolution, attribute policies, the retention-status catalogue."""
from django.db import IntegrityError, transaction

from activities.models import (
    AttributeKey,
    AttributePolicy,
    ResolverType,
    TargetResolutionConfig,
    UserRetentionStatus,
)
from activities.resolution.targets import normalize_criteria, validate_criteria
from reten import errors
from reten.urlsafety import validate_outbound_url

CONFIG_FIELDS = ("resolution_strategy", "fallback_to_commerce_rep", "fallback_to_owner", "priority", "is_active",
                 "criteria")


def _clean_criteria(criteria):
    problems = validate_criteria(criteria)
    if problems:
        details = {f"criteria.{name}".rstrip("."): found for name, found in problems.items()}
        raise errors.ValidationFailed.of(details)
    return normalize_criteria(criteria)


def _check_priority_free(config):
    if not config.is_active:
        return
    taken = TargetResolutionConfig.objects.for_tenant(config.tenant).filter(
        is_active=True, priority=config.priority).exclude(pk=config.pk)
    if taken.exists():
        raise errors.Conflict(f"Another active target-resolution config already has priority {config.priority}",
                              details={"priority": ["Must be unique among active configs."]})


def _save_config(config):
    _check_priority_free(config)
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError:  # a concurrent write took the priority
        raise errors.Conflict(f"Another active target-resolution config already has priority {config.priority}",
                              details={"priority": ["Must be unique among active configs."]}) from None
    return config


def target_resolution_config_create(*, tenant, data):
    config = TargetResolutionConfig(tenant=tenant)
    for name in CONFIG_FIELDS:
        if name in data:
            setattr(config, name, data[name])
    config.criteria = _clean_criteria(data.get("criteria") or [])
    return _save_config(config)


def target_resolution_config_update(*, config, data):
    for name in CONFIG_FIELDS:
        if name in data:
            setattr(config, name, _clean_criteria(data[name] or []) if name == "criteria" else data[name])
    return _save_config(config)


def target_resolution_config_delete(*, config):
    """Target users keep the criteria they were created with; only the link to the config goes."""
    config.delete()


def _attribute_key_named(*, key=None, attribute_key_id=None):
    """The catalogue key a policy is for: by `key`, by `attribute_key_id`, or by both when they agree."""
    if key is None and attribute_key_id is None:
        raise errors.ValidationFailed.of({"key": ["Send key or attribute_key_id."]})
    by_id = None
    if attribute_key_id is not None:
        by_id = AttributeKey.objects.filter(pk=attribute_key_id).first()
        if by_id is None:
            raise errors.ValidationFailed.of({"attribute_key_id": ["Unknown attribute key."]})
        if key is not None and key != by_id.key:
            raise errors.ValidationFailed.of({"attribute_key_id": [f"Names key '{by_id.key}', not '{key}'."]})
        return by_id
    attribute_key = AttributeKey.objects.filter(key=key).first()
    if attribute_key is None:
        raise errors.ValidationFailed(f"Unknown attribute key '{key}'", details={"key": ["Unknown attribute key."]})
    return attribute_key


def attribute_policy_upsert(*, tenant, strategy, resolver_type, hook_url="", key=None, attribute_key_id=None):
    """One policy per tenant and key (named by key or attribute_key_id): created (True) or updated (False)."""
    attribute_key = _attribute_key_named(key=key, attribute_key_id=attribute_key_id)
    if resolver_type == ResolverType.CLIENT_HOOK and not hook_url:
        raise errors.ValidationFailed("hook_url is required for CLIENT_HOOK",
                                      details={"hook_url": ["Required for CLIENT_HOOK resolvers."]})
    if hook_url:
        validate_outbound_url(hook_url, field="hook_url")  # SPEC 10: tenant data is POSTed there
    with transaction.atomic():
        policy, created = AttributePolicy.objects.select_for_update().get_or_create(
            tenant=tenant, attribute_key=attribute_key,
            defaults={"strategy": strategy, "resolver_type": resolver_type, "hook_url": hook_url or ""},
        )
        if not created:
            policy.strategy, policy.resolver_type, policy.hook_url = strategy, resolver_type, hook_url or ""
            policy.save(update_fields=["strategy", "resolver_type", "hook_url", "updated_at"])
    return policy, created


def user_retention_status_create(*, tenant, code, label, description="", is_active=True):
    if UserRetentionStatus.objects.for_tenant(tenant).filter(code=code).exists():
        raise errors.Conflict(f"A user retention status with code {code} already exists",
                              details={"code": ["Must be unique."]})
    try:
        with transaction.atomic():
            return UserRetentionStatus.objects.create(tenant=tenant, code=code, label=label,
                                                      description=description or "", is_active=is_active)
    except IntegrityError:
        raise errors.Conflict(f"A user retention status with code {code} already exists",
                              details={"code": ["Must be unique."]}) from None
