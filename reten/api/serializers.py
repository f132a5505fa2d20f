"""The strict input base: unknown body fields are a 400 naming them (SPEC 1), as Stripe does.

Every request (input) serializer inherits StrictSerializer (or mixes RefusesUnknownFields into another DRF
serializer), so a client that misspells or guesses a field learns it at once instead of losing the data:

    class WidgetCreateSerializer(StrictSerializer):
        name = serializers.CharField()

    POST {"name": "w", "colour": "red"}  ->  400 "Validation failed: colour: Unknown field"
                                             details {"colour": ["Unknown field."]}

The outermost strict serializer walks the whole body: nested serializers, `many=True` lists of them and ListFields
of serializers are compared too, each unknown key named by its dotted path (`items.3.colour`), whether or not the
nested serializer is strict itself. Known keys are the declared fields plus the serializer's `known_aliases`
(documented alternative spellings); camelCase spellings are known already, the parser (reten/api/parsers.py)
turns them into snake_case first. The keys inside free-form JSON fields (FREE_FORM_FIELDS: metadata, settings,
credentials...) are the caller's data and never checked.

Unknown fields are reported together with the other problems of the body, unknown ones first.
`refuse_unknown_keys()` does the same for a view that reads request.data without a serializer.
"""
from collections.abc import Mapping

from rest_framework import serializers

from reten.errors import ValidationFailed

UNKNOWN_FIELD = "Unknown field."

# Fields whose value is caller data (any JSON object): their keys are never compared with anything.
FREE_FORM_FIELDS = frozenset({"metadata", "settings", "credentials", "payload", "raw_payload", "config", "value",
                              "fallback"})


def _nested_serializer(field):
    """The serializer a field's items or value are shaped by, and whether the value is a list of them."""
    if isinstance(field, serializers.ListSerializer):
        return field.child, True
    if isinstance(field, serializers.BaseSerializer):
        return field, False
    if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.BaseSerializer):
        return _nested_serializer(field.child)[0], True
    return None, False


def known_fields(serializer):
    return set(serializer.fields) | set(getattr(serializer, "known_aliases", ()))


def unknown_fields(serializer, data, prefix=""):
    """The dotted paths of every key of `data` that `serializer` (or a serializer nested in it) does not know."""
    if not isinstance(data, Mapping):
        return []
    known = known_fields(serializer)
    found = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in known:
            found.append(path)
            continue
        field = serializer.fields.get(key)
        if field is None or key in FREE_FORM_FIELDS:
            continue
        nested, is_list = _nested_serializer(field)
        if nested is None:
            continue
        if is_list:
            if isinstance(value, list):
                for index, item in enumerate(value):
                    found.extend(unknown_fields(nested, item, f"{path}.{index}."))
        else:
            found.extend(unknown_fields(nested, value, f"{path}."))
    return found


def unknown_field_errors(paths):
    return {path: [UNKNOWN_FIELD] for path in paths}


def refuse_unknown_keys(data, known):
    """For a view that reads a body without a serializer: 400 naming every key of `data` not in `known`."""
    if isinstance(data, Mapping):
        unknown = [str(key) for key in data if key not in known]
        if unknown:
            raise ValidationFailed.of(unknown_field_errors(unknown))


class RefusesUnknownFields:
    """Mix into a DRF serializer that shapes a request body: unknown keys are a 400 naming them (SPEC 1)."""

    known_aliases = frozenset()  # documented alternative spellings accepted as known fields

    def _walked_by_an_ancestor(self):
        parent = self.parent
        while parent is not None:
            if isinstance(parent, RefusesUnknownFields):
                return True
            parent = parent.parent
        return False

    def to_internal_value(self, data):
        if self._walked_by_an_ancestor():
            return super().to_internal_value(data)
        unknown = unknown_field_errors(unknown_fields(self, data))
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, Mapping):
                raise serializers.ValidationError({**unknown, **exc.detail}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializer(RefusesUnknownFields, serializers.Serializer):
    """The base of every request serializer: see the module docstring."""
