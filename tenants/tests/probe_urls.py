"""A test-only URLconf: /probe/<PERMISSION> answers 200 to whoever holds that permission in the tenant."""
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView


class ProbeView(APIView):
    @property
    def required_permission(self):
        return self.kwargs["permission"]

    def get(self, request, permission):
        return Response({"tenant": request.tenant.id, "permission": permission})


urlpatterns = [path("probe/<str:permission>", ProbeView.as_view())]
