"""OpenAPI: documented error responses (those every operation of a kind can return; a view declares its own
409/502 with extend_schema), the tenant header, our two authentication schemes, camelCase out."""
import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from reten.api.permissions import TenantPermission


class ErrorSerializer(serializers.Serializer):
    status_code = serializers.IntegerField()
    message = serializers.CharField()
    error = serializers.CharField()
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Validation problems per snake_case field name, as sent.",
    )


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class AutoSchema(SpectacularAutoSchema):
    def _is_public(self):
        return not any(isinstance(p, TenantPermission) for p in self.view.get_permissions())

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if not self._is_public() and getattr(self.view, "tenant_scoped", True):
            params.append(OpenApiParameter(
                "x-tenant-id", str, OpenApiParameter.HEADER, required=False,
                description="Tenant to act in (required with a bearer token; implied by an API key).",
            ))
        return params

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        error = self._get_response_for_code(ErrorSerializer, "400")
        codes = ["400"]
        if not self._is_public():
            codes += ["401", "403"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE; a body that is not JSON
        if self.view.get_throttles():
            codes.append("429")
        if re.search(r"\{[^}]+\}", self.path):
            codes.append("404")
        for code in codes:
            responses.setdefault(code, error)
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "reten.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "x-api-key"}


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "reten.api.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def camelize_response_components(result, generator, request, public):
    """Responses are camelCase; request bodies are documented snake_case, as the API expects them."""
    from drf_spectacular.contrib.djangorestframework_camel_case import camelize_serializer_fields

    registry = generator.registry._components
    requests = {key: value for key, value in registry.items() if key[0].endswith("Request")}
    for key in requests:
        del registry[key]
    try:
        camelize_serializer_fields(result, generator, request, public)
    finally:
        registry.update(requests)
    return result
