"""camelCase JSON out, with timestamps in UTC, millisecond precision and a trailing Z."""
import datetime
import decimal
import functools
import uuid

from django.utils.encoding import force_str
from django.utils.functional import Promise
from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework.utils.encoders import JSONEncoder as DRFJSONEncoder

# Values that pass through camelize unchanged (it only renames keys and turns other iterables into lists).
PLAIN_VALUES = (str, int, float, type(None), datetime.datetime, datetime.date, datetime.time, decimal.Decimal,
                uuid.UUID)


def format_datetime(value: datetime.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class JSONEncoder(DRFJSONEncoder):
    def default(self, obj):
        if isinstance(obj, datetime.datetime):
            return format_datetime(obj)
        return super().default(obj)


@functools.lru_cache(maxsize=4096)
def camel_key(key: str) -> str:
    return camelize_re.sub(underscore_to_camel, key) if "_" in key else key


def camelize(data, **options):
    """djangorestframework_camel_case's camelize, same result, cheaper: the serializers' few key names are renamed
    once per process (not by a regex per key per response), and plain values are not probed with iter() (a
    TypeError per number or null). It was a tenth of the CPU of a 25-row list page (issue 15)."""
    return _camelize(data, options.get("ignore_fields") or (), options.get("ignore_keys") or ())


def _camelize(data, ignore_fields, ignore_keys):
    if isinstance(data, PLAIN_VALUES):
        return data
    if isinstance(data, dict):
        renamed = {}
        for key, value in data.items():
            if isinstance(key, Promise):
                key = force_str(key)
            new_key = camel_key(key) if isinstance(key, str) else key
            if key not in ignore_fields and new_key not in ignore_fields:
                value = _camelize(value, ignore_fields, ignore_keys)
            renamed[key if key in ignore_keys or new_key in ignore_keys else new_key] = value
        return renamed
    if isinstance(data, (list, tuple)):
        return [_camelize(item, ignore_fields, ignore_keys) for item in data]
    if isinstance(data, Promise):
        return force_str(data)
    try:
        items = iter(data)
    except TypeError:
        return data
    return [_camelize(item, ignore_fields, ignore_keys) for item in items]


class JSONRenderer(CamelCaseJSONRenderer):
    encoder_class = JSONEncoder

    def render(self, data, *args, **kwargs):
        return super(CamelCaseJSONRenderer, self).render(camelize(data, **self.json_underscoreize), *args, **kwargs)
