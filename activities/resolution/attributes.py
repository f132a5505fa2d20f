"""Attribute resolution (SPEC 4.5). A new internal attribute is one function registered with
@internal_resolver; a new kind of resolver is one function registered in RESOLVERS."""
from dataclasses import dataclass

import httpx
from django.conf import settings

from activities.models import (
    CALLER_PROVIDED_RESOLVER,
    AttributeResolutionStatus,
    AttributeStrategy,
    ResolverType,
)
from reten.http import ConnectNotAllowed, effective_timeout


class AttributeResolutionError(Exception):
    """Why one attribute could not be resolved (stored as the attribute's error message)."""


# --- Internal resolvers: one function per attribute key ----------------------------------------------------------

INTERNAL_RESOLVERS = {}


def internal_resolver(key):
    def register(function):
        INTERNAL_RESOLVERS[key] = function
        return function

    return register


def _number(value):
    return float(value) if value is not None else None


@internal_resolver("commerce_info")
def commerce_info(*, context, subject):
    """The commerce's name, tax id and primary address."""
    commerce = subject.commerce
    address = context.primary_address(commerce.pk)
    return {
        "name": commerce.name,
        "taxId": commerce.tax_id,
        "address": None if address is None else {
            "formattedAddress": address.formatted_address,
            "street": address.street,
            "streetNumber": address.street_number,
            "unit": address.unit,
            "city": address.city,
            "commune": address.commune,
            "region": address.region,
            "countryCode": address.country_code,
            "latitude": _number(address.latitude),
            "longitude": _number(address.longitude),
        },
    }


@internal_resolver("promotions")
def promotions(*, context, subject):
    """The commerce's metadata.promotions, or [] when it has none."""
    metadata = subject.commerce.metadata if isinstance(subject.commerce.metadata, dict) else {}
    value = metadata.get("promotions")
    return [] if value is None else value


# --- Resolver types -----------------------------------------------------------------------------------------------

def resolve_internal(*, context, subject, key, hook_url):
    function = INTERNAL_RESOLVERS.get(key)
    if function is None:
        raise AttributeResolutionError(f"no internal resolver for key {key}")
    return function(context=context, subject=subject)


def resolve_client_hook(*, context, subject, key, hook_url):
    """POST to the tenant's hook; a 2xx JSON object with `value` is the answer."""
    if not hook_url:
        raise AttributeResolutionError("no hook_url configured")
    timeout = effective_timeout(settings.ATTRIBUTE_HOOK_TIMEOUT_SECONDS)
    body = {
        "key": key,
        "activityId": str(subject.activity_id),
        "tenantId": str(subject.tenant_id),
        "type": subject.type,
        "channel": subject.channel,
        "commerce": {"id": str(subject.commerce.pk), "externalId": subject.commerce.external_id,
                     "name": subject.commerce.name, "taxId": subject.commerce.tax_id},
    }
    try:
        response = context.http.post(hook_url, json=body, timeout=timeout)
    except ConnectNotAllowed as exc:
        raise AttributeResolutionError(f"hook URL not allowed: {exc.reason}") from None
    except httpx.TimeoutException:
        raise AttributeResolutionError(f"hook timed out after {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise AttributeResolutionError(f"hook unreachable: {type(exc).__name__}") from None
    if not response.is_success:
        raise AttributeResolutionError(f"hook answered HTTP {response.status_code}")
    try:
        payload = response.json()
    except ValueError:
        raise AttributeResolutionError("hook answered with a body that is not JSON") from None
    if not isinstance(payload, dict) or "value" not in payload:
        raise AttributeResolutionError("hook answer has no value")
    return payload["value"]


RESOLVERS = {
    ResolverType.INTERNAL_SERVICE: resolve_internal,
    ResolverType.CLIENT_HOOK: resolve_client_hook,
}


# --- One attribute, start to end ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttributePlan:
    """How to resolve one requested key: its policy (or the default) and what the caller sent."""

    attribute_key: object  # activities.AttributeKey
    strategy: str = AttributeStrategy.UPFRONT
    resolver_type: str = ResolverType.INTERNAL_SERVICE
    hook_url: str = ""
    has_value: bool = False
    value: object = None
    has_fallback: bool = False
    fallback: object = None


@dataclass(frozen=True)
class AttributeOutcome:
    status: str
    value: object = None
    resolver_type: str = ""
    error: str = ""

    @property
    def blocking(self):
        return self.status == AttributeResolutionStatus.FAILED


def resolve_attribute(*, context, subject, plan, defer_on_dispatch=True):
    """Caller value wins; ON_DISPATCH waits (unless resolving right before dispatch); a failure uses the
    fallback (status FALLBACK) when there is one."""
    if plan.has_value:
        return AttributeOutcome(AttributeResolutionStatus.RESOLVED, plan.value, CALLER_PROVIDED_RESOLVER)
    if plan.strategy == AttributeStrategy.ON_DISPATCH and defer_on_dispatch:
        return AttributeOutcome(AttributeResolutionStatus.PENDING, None, plan.resolver_type)
    try:
        if plan.strategy == AttributeStrategy.CALLER_PROVIDED:
            raise AttributeResolutionError("the caller must provide this value")
        resolver = RESOLVERS.get(plan.resolver_type)
        if resolver is None:
            raise AttributeResolutionError(f"unknown resolver type {plan.resolver_type}")
        value = resolver(context=context, subject=subject, key=plan.attribute_key.key, hook_url=plan.hook_url)
    except AttributeResolutionError as exc:
        resolver_type = CALLER_PROVIDED_RESOLVER if plan.strategy == AttributeStrategy.CALLER_PROVIDED \
            else plan.resolver_type
        if plan.has_fallback:
            return AttributeOutcome(AttributeResolutionStatus.FALLBACK, plan.fallback, resolver_type, str(exc))
        return AttributeOutcome(AttributeResolutionStatus.FAILED, None, resolver_type, str(exc))
    return AttributeOutcome(AttributeResolutionStatus.RESOLVED, value, plan.resolver_type)
