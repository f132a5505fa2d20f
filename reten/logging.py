"""Log context: every line carries the tenant and activity it concerns, when there is one."""
import contextvars
import logging
from contextlib import contextmanager

tenant_id_var = contextvars.ContextVar("tenant_id", default=None)
activity_id_var = contextvars.ContextVar("activity_id", default=None)


class RequestContextFilter(logging.Filter):
    def filter(self, record):
        if not hasattr(record, "tenant_id"):
            value = tenant_id_var.get()
            record.tenant_id = str(value) if value else None
        if not hasattr(record, "activity_id"):
            value = activity_id_var.get()
            record.activity_id = str(value) if value else None
        return True


@contextmanager
def log_context(*, tenant_id=None, activity_id=None):
    tokens = []
    if tenant_id is not None:
        tokens.append((tenant_id_var, tenant_id_var.set(tenant_id)))
    if activity_id is not None:
        tokens.append((activity_id_var, activity_id_var.set(activity_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
