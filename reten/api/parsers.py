"""JSON in: snake_case keys, camelCase accepted and converted; caller data (metadata, payloads) untouched."""
import json

from django.conf import settings
from djangorestframework_camel_case.settings import api_settings
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(stream.read().decode(encoding))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None
        if not storable(data):
            # PostgreSQL cannot store NUL or unpaired surrogates in text or JSON; refuse them here, not on write.
            raise ParseError("Malformed JSON: strings must not contain NUL (\\u0000) or unpaired surrogates")
        return underscoreize(data, **api_settings.JSON_UNDERSCOREIZE)


def storable(value):
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(storable(key) and storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(storable(item) for item in value)
    return True
