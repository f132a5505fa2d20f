"""Two ways in: `Authorization: Bearer <JWT>` for people, `x-api-key: rtn_sk_...` for machines."""
import re
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from tenants.models import ApiKey

API_KEY_HEADER = "HTTP_X_API_KEY"
API_KEY_PATTERN = re.compile(r"^rtn_sk_[0-9a-f]{56}$")
# last_used_at is refreshed at most this often, so reads do not turn into writes on every call.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        plaintext = request.META.get(API_KEY_HEADER)
        if plaintext is None:
            return None
        plaintext = plaintext.strip()
        if not API_KEY_PATTERN.match(plaintext):
            raise exceptions.AuthenticationFailed("Invalid API key")
        key = (
            ApiKey.objects.select_related("tenant", "created_by")
            .filter(key_hash=ApiKey.hash_key(plaintext))
            .first()
        )
        now = timezone.now()
        if key is None or not key.is_usable(now):
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key")
        if not key.created_by.is_active or not key.tenant.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key")
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return key.created_by, key

    def authenticate_header(self, request):
        return 'ApiKey realm="api"'


class BearerAuthentication(JWTAuthentication):
    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except (InvalidToken, TokenError):
            raise exceptions.AuthenticationFailed("Invalid or expired access token") from None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


# OpenAPI: how the two schemes appear in the schema (drf-spectacular finds these when this module loads).
class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "x-api-key"}


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
