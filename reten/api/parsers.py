"""JSON in: snake_case keys, camelCase accepted and converted; caller data (metadata, payloads) untouched.

Input limits (SPEC 10): nesting deeper than MAX_JSON_DEPTH and non-finite numbers (NaN, Infinity, 1e400) are
refused before anything recursive (the decoder, `storable`, `underscoreize`) walks the document.
"""
import json
import math
import re
from itertools import accumulate

from django.conf import settings
from djangorestframework_camel_case.settings import api_settings
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser

MAX_JSON_DEPTH = 64

# A JSON string literal (escapes included), or an unterminated one up to the end: its brackets are text, not
# structure. It always matches once started, so the scan stays linear on hostile input.
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text):
    """The deepest array/object nesting of a JSON text, counted without recursion."""
    brackets = NOT_A_BRACKET.sub("", STRING_LITERAL.sub("", text))
    return max(accumulate(map(BRACKET_STEP.__getitem__, brackets)), default=0)


def refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def finite_float(literal):
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"number {literal} is out of range")
    return number


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None
        if nesting_depth(text) > MAX_JSON_DEPTH:
            raise ParseError(f"Malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            data = json.loads(text, parse_constant=refuse_constant, parse_float=finite_float)
        except ValueError as exc:
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
