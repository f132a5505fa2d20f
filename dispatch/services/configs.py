"""Per-tenant dispatch configs: validated against the channel definition, credentials encrypted (SPEC 5.2)."""
import dataclasses
import logging
import uuid

from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from dispatch import crypto
from dispatch.models import DispatchConfig, DispatchProvider, ProtocolType
from dispatch.protocols import HealthReport, ProviderConfig, protocol_for
from dispatch.schemas import COMMON_SETTINGS, raise_if, validate_base_url, value_problems
from dispatch.selectors import channel_definition_for
from reten import urlsafety
from reten.errors import Conflict, ValidationFailed

logger = logging.getLogger("reten.dispatch")


def _clean(values):
    return {key: value for key, value in (values or {}).items() if value is not None}


def _settings_schema(definition):
    own = list(definition.settings_schema or [])
    names = {item["key"] for item in own}
    return own + [item for item in COMMON_SETTINGS if item["key"] not in names]


REBIND_MESSAGE = "credentials must be re-entered when the host changes"


def host_change_problems(*, config, base_url, credentials):
    """SPEC 10: stored credentials stay bound to the scheme, host and port they were entered for."""
    if config is None or credentials is not None or not config.credential_keys:
        return {}
    before, after = urlsafety.origin_of(config.base_url), urlsafety.origin_of(base_url)
    if before == after:
        return {}
    return {"credentials": ["Must be re-entered when the base_url's scheme, host or port changes: stored "
                            "credentials are only sent to the host they were entered for."]}


def smtp_host_problems(settings):
    """An EMAIL config's SMTP host is an outbound address too."""
    host = (settings or {}).get("host")
    if not isinstance(host, str) or not host:
        return {}
    port = (settings or {}).get("port") or 25
    try:
        urlsafety.check_host(host, int(port) if isinstance(port, (int, float)) else 25)
    except urlsafety.UrlNotAllowed as exc:
        return {"settings.host": [f"Not an allowed outbound host: {exc.reason}."]}
    return {}


@sensitive_variables()  # plaintext credentials, here and in every frame below
def config_problems(*, provider, channel, base_url, credentials=None, settings=None, config=None):
    """Everything wrong with a config, as {"field.key": [problem]}; `None` skips a part (PATCH). `config` is the
    stored config on a change (credentials must be sent again when the base_url's host changes)."""
    definition = channel_definition_for(provider=provider, channel=channel)
    if definition is None:
        return {"channel": [f"Provider {provider.code} has no channel definition for {channel}."]}
    protocol = protocol_for(provider_code=provider.code, protocol_type=provider.protocol_type)
    problems = validate_base_url(base_url, required=protocol.requires_base_url)
    problems.update(host_change_problems(config=config, base_url=base_url, credentials=credentials))
    if provider.protocol_type == ProtocolType.EMAIL and settings is not None:
        problems.update(smtp_host_problems(settings))
    if credentials is not None:
        problems.update(value_problems(credentials, definition.credential_schema or [],
                                       field_name="credentials", noun="credential"))
    if settings is not None:
        problems.update(value_problems(settings, _settings_schema(definition), field_name="settings",
                                       noun="setting"))
    return problems


def _provider(provider_id):
    provider = DispatchProvider.objects.filter(pk=provider_id).first()
    if provider is None:
        raise ValidationFailed("Unknown dispatch provider",
                               details={"dispatch_provider_id": ["No dispatch provider with this id."]})
    if not provider.is_active:
        raise ValidationFailed("This dispatch provider is inactive",
                               details={"dispatch_provider_id": ["The provider is inactive."]})
    return provider


@sensitive_variables()
def _store_credentials(config, credentials):
    credentials = _clean(credentials)
    config.credentials_encrypted = crypto.encrypt_credentials(credentials, tenant_id=config.tenant_id,
                                                              config_id=config.id)
    config.credential_keys = sorted(credentials)


@sensitive_variables()
def _store_callback_secret(config):
    secret = crypto.new_callback_secret()
    config.callback_secret_encrypted = crypto.encrypt_callback_secret(secret, tenant_id=config.tenant_id,
                                                                      config_id=config.id)
    return secret


@sensitive_variables()
def callback_secret_rotate(*, config) -> str:
    """A new callback secret replaces the old one at once (the old one verifies nothing from now on). Returns the
    new plaintext, to be shown once."""
    with transaction.atomic():
        locked = DispatchConfig.objects.select_for_update().get(pk=config.pk)
        secret = _store_callback_secret(locked)
        locked.save(update_fields=["callback_secret_encrypted", "updated_at"])
    config.callback_secret_encrypted = locked.callback_secret_encrypted
    logger.info("Dispatch config %s: callback secret rotated", config.id)
    return secret


@sensitive_variables()
def callback_secret_of(config) -> str:
    """The plaintext callback secret; only the signed-callback check asks for it."""
    return crypto.decrypt_callback_secret(config.callback_secret_encrypted, tenant_id=config.tenant_id,
                                          config_id=config.id)


def _one_active_per_channel(*, tenant_id, channel, exclude_id=None):
    others = DispatchConfig.objects.filter(tenant_id=tenant_id, channel=channel, is_active=True)
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    existing = others.first()
    if existing is not None:
        raise Conflict(f"An active dispatch config already exists for channel {channel}; deactivate it first",
                       extra={"existing_config_id": existing.id})


@sensitive_variables("credentials")
def dispatch_config_create(*, tenant, dispatch_provider_id, channel, base_url="", credentials=None, settings=None,
                           is_active=True):
    provider = _provider(dispatch_provider_id)
    base_url = (base_url or "").strip()
    raise_if(config_problems(provider=provider, channel=channel, base_url=base_url,
                             credentials=credentials or {}, settings=settings or {}))
    if is_active:  # an inactive config may wait next to the active one
        _one_active_per_channel(tenant_id=tenant.id, channel=channel)
    config = DispatchConfig(id=uuid.uuid4(), tenant=tenant, provider=provider, channel=channel, base_url=base_url,
                            settings=_clean(settings), is_active=is_active)
    _store_credentials(config, credentials)
    # Returned once, in the create response, and never again (rotate for a new one).
    config.new_callback_secret = _store_callback_secret(config)
    try:
        with transaction.atomic():
            config.save(force_insert=True)
    except IntegrityError:
        raise Conflict(f"An active dispatch config already exists for channel {channel}; deactivate it first") \
            from None
    logger.info("Dispatch config %s created for %s/%s", config.id, provider.code, channel)
    return config


@sensitive_variables("data", "credentials")
def dispatch_config_update(*, config, data):
    """PATCH: base_url, settings and credentials replace what was there; is_active may reactivate."""
    base_url = data["base_url"].strip() if data.get("base_url") is not None else config.base_url
    credentials = data.get("credentials")
    settings = data.get("settings")
    raise_if(config_problems(provider=config.provider, channel=config.channel, base_url=base_url,
                             credentials=credentials, settings=settings))
    rebind = host_change_problems(config=config, base_url=base_url, credentials=credentials)
    if rebind:
        raise ValidationFailed(REBIND_MESSAGE, details=rebind)
    is_active = data.get("is_active", config.is_active)
    if is_active and not config.is_active:
        _one_active_per_channel(tenant_id=config.tenant_id, channel=config.channel, exclude_id=config.id)
    config.base_url = base_url
    config.is_active = is_active
    if settings is not None:
        config.settings = _clean(settings)
    if credentials is not None:
        _store_credentials(config, credentials)
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError:
        raise Conflict(f"An active dispatch config already exists for channel {config.channel}") from None
    return config


def dispatch_config_deactivate(*, config):
    if config.is_active:
        config.is_active = False
        config.save(update_fields=["is_active", "updated_at"])
    return config


@sensitive_variables()
def provider_config_of(config):
    """The config as a protocol sees it, credentials decrypted. Only a dispatch or a test call asks for this."""
    return ProviderConfig(
        id=config.id, tenant_id=config.tenant_id, provider_code=config.provider.code,
        protocol_type=config.provider.protocol_type, channel=config.channel, base_url=config.base_url,
        settings=dict(config.settings or {}),
        credentials=crypto.decrypt_credentials(config.credentials_encrypted, tenant_id=config.tenant_id,
                                               config_id=config.id),
    )


def protocol_of(config):
    return protocol_for(provider_code=config.provider.code, protocol_type=config.provider.protocol_type)


def dispatch_config_test(*, config):
    """The provider's health check with this config: {ok, statusCode?, error?, latencyMs}."""
    try:
        provider_config = provider_config_of(config)
    except crypto.CredentialsDecryptError as exc:
        return HealthReport(ok=False, latency_ms=0, error=str(exc), error_code="CREDENTIALS_ERROR")
    report = protocol_of(config).check(provider_config)
    if report.error:
        report = dataclasses.replace(report, error=provider_config.scrub(report.error))
    logger.info("Dispatch config %s tested: ok=%s status=%s error=%s", config.id, report.ok, report.status_code,
                report.error_code)
    return report


def credentials_rotate(*, batch_size=200):
    """Re-encrypt every config (credentials and callback secret) with the current key. Returns (re-encrypted,
    previously on another key)."""
    current = crypto.key_ring().current_id
    total = moved = 0
    ids = list(DispatchConfig.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            configs = DispatchConfig.objects.select_for_update().filter(pk__in=ids[start:start + batch_size])
            for config in configs:
                credentials = crypto.decrypt_credentials(config.credentials_encrypted, tenant_id=config.tenant_id,
                                                         config_id=config.id)
                if crypto.key_id_of(config.credentials_encrypted) != current:
                    moved += 1
                config.credentials_encrypted = crypto.encrypt_credentials(
                    credentials, tenant_id=config.tenant_id, config_id=config.id)
                secret = callback_secret_of(config)
                if secret:
                    config.callback_secret_encrypted = crypto.encrypt_callback_secret(
                        secret, tenant_id=config.tenant_id, config_id=config.id)
                config.save(update_fields=["credentials_encrypted", "callback_secret_encrypted", "updated_at"])
                total += 1
    return total, moved
