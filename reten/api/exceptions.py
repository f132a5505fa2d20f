"""One exception handler: every error leaves as {statusCode, message, error, details?}."""
import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response

from reten.errors import DomainError, validation_message

logger = logging.getLogger("reten.api")
DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly"
DATABASE_RETRY_AFTER_SECONDS = 5


def error_body(status_code, message, details=None, **extra):
    body = {"status_code": status_code, "message": message, "error": HTTPStatus(status_code).phrase}
    if details:
        body["details"] = details
    body.update(extra)
    return body


def flatten_details(detail, prefix=""):
    """DRF's nested error structure -> {"field": [...], "items.3.external_id": [...]}."""
    flat = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_details(value, name))
    elif isinstance(detail, list) and detail and all(not isinstance(i, (dict, list)) for i in detail):
        flat[prefix or "non_field_errors"] = [str(item) for item in detail]
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                flat.update(flatten_details(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def exception_handler(exc, context):
    headers = {}
    if isinstance(exc, DomainError):
        return Response(
            error_body(exc.status_code, exc.message, exc.details, **exc.extra), status=exc.status_code
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(413, "Request body is too large"), status=413)
    if isinstance(exc, SuspiciousOperation):
        # Django's request limits (too many fields, a bad Host...): the caller's fault, never a 500.
        return Response(error_body(400, "Bad request"), status=400)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if isinstance(exc, drf.ValidationError):
        details = flatten_details(exc.detail)
        return Response(error_body(400, validation_message(details), details), status=400)
    if isinstance(exc, drf.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        detail = exc.detail
        if isinstance(detail, dict) and "detail" in detail:
            detail = detail["detail"]
        message = str(detail) if not isinstance(detail, (dict, list)) else HTTPStatus(exc.status_code).phrase
        return Response(error_body(exc.status_code, message), status=exc.status_code, headers=headers)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # A lost or refused database connection (a restart, a failover) is not the caller's fault and not a bug:
        # 503 with the envelope, and Django drops the broken connection at the end of the request, so the API
        # recovers by itself once the database is back.
        logger.warning("Database unavailable during an API request: %s: %s", exc.__class__.__name__,
                       (str(exc).strip().splitlines() or [""])[0][:300])
        return Response(error_body(503, DATABASE_UNAVAILABLE), status=503,
                        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
    logger.exception("Unhandled error in API view")
    return Response(error_body(500, "Internal server error"), status=500)


def json_error_response(status_code, message, details=None):
    """The envelope outside DRF (middleware, URL resolution); keys already camelCase, details keep their names."""
    body = {"statusCode": status_code, "message": message, "error": HTTPStatus(status_code).phrase}
    if details:
        body["details"] = details
    return JsonResponse(body, status=status_code)


def json_error_view(status_code, message):
    def view(request, exception=None):
        return json_error_response(status_code, message)

    return view


handler400 = json_error_view(400, "Bad request")
handler403 = json_error_view(403, "Forbidden")
handler404 = json_error_view(404, "Not found")
handler500 = json_error_view(500, "Internal server error")
# Every /api/ URL that matches no route, also under DEBUG (where Django skips handler404 for its HTML page).
# Any method: a PATCH to an unknown /api/ URL is a JSON 404 too, not Django's CSRF page (API views are CSRF-exempt).
api_not_found = csrf_exempt(json_error_view(404, "Not found"))
