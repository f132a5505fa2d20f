"""Integration routes (`/api/integration/...`) are for machines: an API key, never a person's bearer token.

Every integration view inherits `IntegrationView` (or mixes `ApiKeyOnly` into a generic view), so the rule lives
here once; a test walks the URLconf and fails for an integration route that does not.
"""
from rest_framework import exceptions
from rest_framework.views import APIView

from tenants.api.authentication import API_KEY_HEADER, ApiKeyAuthentication

BEARER_REFUSED = "Integration routes accept API keys only: send the key in the x-api-key header"


class ApiKeyOnly:
    """Mixin for integration views (first in the bases): API-key authentication only, and a bearer token without
    a key is a 401 rather than silently ignored."""

    authentication_classes = [ApiKeyAuthentication]

    def perform_authentication(self, request):
        if request.META.get(API_KEY_HEADER) is None and request.META.get("HTTP_AUTHORIZATION"):
            raise exceptions.AuthenticationFailed(BEARER_REFUSED)
        super().perform_authentication(request)


class IntegrationView(ApiKeyOnly, APIView):
    pass
