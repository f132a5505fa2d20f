"""OpenAPI: documented error responses (those every operation of a kind can return; a view declares its own
409/502 with extend_schema), the tenant header, our two authentication schemes, camelCase out."""
import re

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.permissions import AllowAny


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
        # Public views open themselves to anyone (AllowAny); every other view checks who calls.
        return all(isinstance(p, AllowAny) for p in self.view.get_permissions())

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
