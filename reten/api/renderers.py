"""camelCase JSON out, with timestamps in UTC, millisecond precision and a trailing Z."""
import datetime

from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from rest_framework.utils.encoders import JSONEncoder as DRFJSONEncoder


def format_datetime(value: datetime.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class JSONEncoder(DRFJSONEncoder):
    def default(self, obj):
        if isinstance(obj, datetime.datetime):
            return format_datetime(obj)
        return super().default(obj)


class JSONRenderer(CamelCaseJSONRenderer):
    encoder_class = JSONEncoder
