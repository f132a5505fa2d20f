"""Integration routes (`/api/integration/...`) are for machines: an API key, never a person's bearer token.

Every integration view inherits `IntegrationView` (or mixes `ApiKeyOnly` into a generic view), so the rule lives
here once; a test walks the URLconf and fails for an integration route that does not.
"""
from rest_framework import exceptions
from rest_framework.views import APIView

from reten.api.authentication import API_KEY_HEADER, ApiKeyAuthentication

BEARER_REFUSED = "Integration routes accept API keys only: send the key in the x-api-key header"


class IntegrationApiKeyAuthentication(ApiKeyAuthentication):
    """The API key, or 401: a bearer token here is refused outright rather than silently ignored."""

    def authenticate(self, request):
        if request.META.get(API_KEY_HEADER) is None and request.META.get("HTTP_AUTHORIZATION"):
            raise exceptions.AuthenticationFailed(BEARER_REFUSED)
        return super().authenticate(request)


class ApiKeyOnly:
    """Mixin for integration views built on DRF generics."""

    authentication_classes = [IntegrationApiKeyAuthentication]


class IntegrationView(ApiKeyOnly, APIView):
    pass
