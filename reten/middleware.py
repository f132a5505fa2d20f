import logging
import time

from django.conf import settings
from django.utils.cache import patch_cache_control

from reten.api.converters import malformed_path_ids
from reten.api.exceptions import json_error_response
from reten.audit import request_scope
from reten.errors import validation_message
from reten.logging import tenant_id_var

logger = logging.getLogger("reten.request")


def is_api(request):
    return request.path.startswith("/api/")


def declared_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestContextMiddleware:
    """Resets the log context per request and logs one line per API request (never headers or bodies).

    For /api/ it also applies the input limits that need no view (SPEC 10): a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE is 413 before anyone reads it, a malformed id in the path is 400, and every API
    response (errors included) carries `Cache-Control: no-store`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = is_api(request)
        started = time.monotonic()
        response = self.refusal(request) if api else None
        if response is None:
            token = tenant_id_var.set(None)
            try:
                with request_scope():
                    response = self.get_response(request)
            finally:
                tenant_id_var.reset(token)
        if not api:
            return response
        patch_cache_control(response, no_store=True)
        logger.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={"duration_ms": round((time.monotonic() - started) * 1000, 1),
                   "tenant_id": str(getattr(getattr(request, "tenant", None), "id", "") or "") or None},
        )
        return response

    @staticmethod
    def refusal(request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and declared_length(request) > limit:
            return json_error_response(413, f"Request body is too large (at most {limit} bytes)")
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            # PostgreSQL cannot compare against NUL; refuse it before any filter sees it.
            return json_error_response(400, "Query parameters must not contain NUL characters")
        return None

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Checked with the route, before authentication, like an unknown URL (404) is.
        malformed = malformed_path_ids(view_kwargs) if is_api(request) else []
        if malformed:
            details = {name: ["Must be a valid UUID."] for name in malformed}
            return json_error_response(400, validation_message(details), details)
        return None


# The console's theme (django-unfold) styles with inline <style> and style attributes and runs Alpine.js, which
# evaluates its expressions at run time: on /admin/ pages only, styles may be inline and scripts may eval. Scripts
# still come from this origin only; every other page keeps the strict policy.
CONSOLE_CSP = {"style-src": ["'self'", "'unsafe-inline'"], "script-src": ["'self'", "'unsafe-eval'"]}


class ConsoleCSPMiddleware:
    """Listed after csp.middleware.CSPMiddleware so that it marks the response before the header is built."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/admin/"):
            response._csp_replace = CONSOLE_CSP
        return response
