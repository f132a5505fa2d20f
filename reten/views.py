import hmac

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from reten import metrics
from reten.api.exceptions import json_error_response


@require_safe
def console_redirect(request):
    """`/` leads to the console (SPEC 7)."""
    return HttpResponseRedirect(reverse("admin:index"))


def healthz(request):
    """The process is up."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """The database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means not ready
        return JsonResponse({"status": "unavailable", "error": exc.__class__.__name__}, status=503)
    return JsonResponse({"status": "ok"})


def _metrics_refusal(request):
    token = settings.METRICS_TOKEN
    if not token:
        # No token configured: open on a developer's machine only; elsewhere the route does not exist.
        return None if settings.DEBUG else json_error_response(404, "Not found")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), token.encode()):
        response = json_error_response(401, "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


@require_safe
def metrics_view(request):
    """Prometheus text format (SPEC 14): django-prometheus' request and database metrics plus Reten's own."""
    refused = _metrics_refusal(request)
    if refused is not None:
        return refused
    body, content_type = metrics.exposition(request.headers.get("Accept", ""))
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
