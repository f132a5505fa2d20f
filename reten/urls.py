from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from reten import views
from reten.api import converters  # noqa: F401  (registers <id:...> before the apps' URLconfs load)
from reten.api.exceptions import api_not_found

api_patterns = [
    path("", include("tenants.api.urls")),
    path("", include("commerces.api.urls")),
    path("", include("activities.api.urls")),
    path("", include("dispatch.api.urls")),
    path("", include("webhooks.api.urls")),
]

# The docs are public and served from local assets (drf-spectacular-sidecar); Swagger UI's init script is a
# separate same-origin request (the split view), so the Content-Security-Policy needs no inline script.
docs_access = {"authentication_classes": [], "permission_classes": []}
# ReDoc styles itself with <style> elements it creates at run time (no nonce possible), and its bundle always
# shows Redocly's logo from their CDN (hidden when the image fails to load): allowed on that page only.
redoc_view = csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["https://cdn.redoc.ly"]})(
    SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html", **docs_access))

urlpatterns = [
    path("", views.console_redirect),
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("metrics", views.metrics_view),
    path("api/schema/", SpectacularAPIView.as_view(**docs_access), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html",
                                                          **docs_access), name="docs"),
    path("api/redoc/", redoc_view, name="redoc"),
    path("api/", include(api_patterns)),
    re_path(r"^api/", api_not_found, name="api-not-found"),  # every other /api/ URL: a JSON 404
    path("admin/", admin.site.urls),
]

handler400 = "reten.api.exceptions.handler400"
handler403 = "reten.api.exceptions.handler403"
handler404 = "reten.api.exceptions.handler404"
handler500 = "reten.api.exceptions.handler500"
