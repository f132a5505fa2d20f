"""Enum errors name the allowed values: '"X" is not a valid choice; one of TASK, MESSAGE.' (issue 10).

Installed once, on DRF's ChoiceField itself, so every enum field (and MultipleChoiceField, and the list children
of roles and permissions) words it alike, including those added later.
"""
from rest_framework import fields

INVALID_CHOICE = '"{input}" is not a valid choice; one of {allowed}.'


def _fail_naming_the_allowed_values(self, key, **kwargs):
    if key == "invalid_choice":
        kwargs.setdefault("allowed", ", ".join(self.choice_strings_to_values))
    return fields.Field.fail(self, key, **kwargs)


def install():
    """Called from RetenConfig.ready(), before any serializer is instantiated (fields read their messages then)."""
    fields.ChoiceField.default_error_messages = {**fields.ChoiceField.default_error_messages,
                                                 "invalid_choice": INVALID_CHOICE}
    fields.ChoiceField.fail = _fail_naming_the_allowed_values
