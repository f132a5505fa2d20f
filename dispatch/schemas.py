"""Channel-definition schemas (lists of {key, label, type, required}) and the values checked against them."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from reten.errors import ValidationFailed
from reten.urlsafety import url_problem

FIELD_TYPES = ("string", "password", "url", "number", "boolean")
SCHEMA_ITEM_KEYS = {"key", "label", "type", "required"}
# Settings every config may carry whatever its provider's schema says (SPEC 5.3: a config may override the lead).
COMMON_SETTINGS = [
    {"key": "leadTimeSeconds", "label": "Dispatch lead time (seconds)", "type": "number", "required": False},
    # SPEC 6.2: a provider that sends no delivery receipts: its MESSAGE activities close when it accepts them.
    {"key": "completeOnAccept", "label": "Complete messages on acceptance", "type": "boolean", "required": False},
]

_http_url = URLValidator(schemes=["http", "https"])


def normalize_schema(schema, *, field_name):
    """Check a schema list and return it with defaults filled in (label = key, required = false)."""
    if schema is None:
        return []
    if not isinstance(schema, list):
        raise ValidationFailed(f"{field_name} must be a list", details={field_name: ["Must be a list of fields."]})
    problems = {}
    normalized = []
    seen = set()
    for index, item in enumerate(schema):
        where = f"{field_name}.{index}"
        if not isinstance(item, dict):
            problems[where] = ["Must be an object {key, label, type, required}."]
            continue
        unknown = sorted(set(item) - SCHEMA_ITEM_KEYS)
        if unknown:
            problems[where] = [f"Unknown field(s): {', '.join(unknown)}."]
            continue
        key = item.get("key")
        if not isinstance(key, str) or not key.strip():
            problems[f"{where}.key"] = ["A non-empty string is required."]
            continue
        if key in seen:
            problems[f"{where}.key"] = [f"Key {key!r} appears twice."]
            continue
        seen.add(key)
        field_type = item.get("type")
        if field_type not in FIELD_TYPES:
            problems[f"{where}.type"] = [f"Must be one of {', '.join(FIELD_TYPES)}."]
            continue
        label = item.get("label", key)
        if not isinstance(label, str):
            problems[f"{where}.label"] = ["Must be a string."]
            continue
        required = item.get("required", False)
        if not isinstance(required, bool):
            problems[f"{where}.required"] = ["Must be true or false."]
            continue
        normalized.append({"key": key, "label": label or key, "type": field_type, "required": required})
    if problems:
        first = next(iter(problems))
        raise ValidationFailed(f"Invalid {field_name}: {first}: {problems[first][0]}", details=problems)
    return normalized


def _type_problem(value, field_type):
    if field_type in ("string", "password"):
        return None if isinstance(value, str) else "Must be a string."
    if field_type == "url":
        if not isinstance(value, str):
            return "Must be an http(s) URL."
        try:
            _http_url(value)
        except DjangoValidationError:
            return "Must be an http(s) URL."
        return None
    if field_type == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "Must be a number."
    if field_type == "boolean":
        return None if isinstance(value, bool) else "Must be true or false."
    return f"Unsupported type {field_type!r}."


def value_problems(values, schema, *, field_name, noun):
    """{"credentials.apiKey": ["..."]} for every missing required, unknown or mistyped key."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        return {field_name: ["Must be an object."]}
    by_key = {item["key"]: item for item in schema}
    problems = {}
    for item in schema:
        value = values.get(item["key"])
        if item["required"] and (value is None or value == ""):
            problems[f"{field_name}.{item['key']}"] = [f"This {noun} is required."]
    for key, value in values.items():
        where = f"{field_name}.{key}"
        if key not in by_key:
            allowed = ", ".join(by_key) or "none"
            problems[where] = [f"Unknown {noun} {key!r}; the channel definition allows: {allowed}."]
            continue
        if value is None or (value == "" and not by_key[key]["required"]):
            continue
        if where not in problems and (problem := _type_problem(value, by_key[key]["type"])):
            problems[where] = [problem]
    return problems


def validate_base_url(base_url, *, required):
    if not base_url:
        if required:
            return {"base_url": ["Required for this provider's protocol."]}
        return {}
    try:
        _http_url(base_url)
    except DjangoValidationError:
        return {"base_url": ["Must be an http(s) URL."]}
    problem = url_problem(base_url)  # SPEC 10: public addresses only, https outside DEBUG
    return {"base_url": [problem]} if problem else {}


def raise_if(problems):
    if problems:
        raise ValidationFailed.of(problems)
