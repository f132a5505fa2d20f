"""Path converter for ids: a malformed id is a 400 naming the path parameter, not a 404 (SPEC 10, Input limits).

Django's `uuid` converter makes a malformed id match no route (404). `<id:name>` matches any segment and hands
the view a `uuid.UUID`, or a `MalformedId` that RequestContextMiddleware answers with 400 before the view runs.
"""
import re
import uuid

from django.urls import register_converter

CANONICAL_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class MalformedId(str):
    """A path segment where an id belongs that is not one."""


class IdConverter:
    regex = "[^/]+"

    def to_python(self, value):
        if CANONICAL_UUID.match(value):
            return uuid.UUID(value)
        return MalformedId(value)

    def to_url(self, value):
        return str(value)


def malformed_path_ids(view_kwargs):
    return sorted(name for name, value in view_kwargs.items() if isinstance(value, MalformedId))


register_converter(IdConverter, "id")
