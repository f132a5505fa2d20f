import logging
import time

from reten.logging import tenant_id_var

logger = logging.getLogger("reten.request")


class RequestContextMiddleware:
    """Resets the log context per request and logs one line per API request (never headers or bodies)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
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
