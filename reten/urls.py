from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from reten import views

api_patterns = [
    path("", include("tenants.api.urls")),
    path("", include("commerces.api.urls")),
    path("", include("activities.api.urls")),
    path("", include("dispatch.api.urls")),
]

urlpatterns = [
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
         name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[],
                                                     permission_classes=[]), name="docs"),
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
]

handler400 = "reten.api.exceptions.handler400"
handler403 = "reten.api.exceptions.handler403"
handler404 = "reten.api.exceptions.handler404"
handler500 = "reten.api.exceptions.handler500"
