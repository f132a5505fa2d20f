import logging
import time

from reten.api.exceptions import json_error_view
from reten.logging import tenant_id_var

logger = logging.getLogger("reten.request")


class RequestContextMiddleware:
    """Resets the log context per request and logs one line per API request (never headers or bodies)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and any("\x00" in key + "".join(values)
                                                    for key, values in request.GET.lists()):
            # PostgreSQL cannot compare against NUL; refuse it before any filter sees it.
            return json_error_view(400, "Query parameters must not contain NUL characters")(request)
        token = tenant_id_var.set(None)
        started = time.monotonic()
        try:
            response = self.get_response(request)
        finally:
            tenant_id_var.reset(token)
        if request.path.startswith("/api/"):
            logger.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={"duration_ms": round((time.monotonic() - started) * 1000, 1),
                       "tenant_id": str(getattr(getattr(request, "tenant", None), "id", "") or "") or None},
            )
        return response
