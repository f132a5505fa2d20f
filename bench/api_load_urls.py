"""The product's URLs plus GET /bench/ceiling: the same HTTP, API-key auth and tenancy stack as the product's
routes, then a constant body with no query of its own — the ceiling bench/api_load.py measures the mixed traffic
against. It lives here so the product does not ship it."""
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from reten.urls import urlpatterns as product_urlpatterns
from tenants.roles import P


class CeilingView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    def get(self, request):
        return Response({"tenantId": str(request.tenant.pk), "ok": True})


urlpatterns = [path("bench/ceiling", CeilingView.as_view()), *product_urlpatterns]
