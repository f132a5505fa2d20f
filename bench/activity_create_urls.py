"""The product's URLs plus POST /bench/baseline-activity: the same HTTP, auth and tenancy stack, then one bare
activity row. It lives here so the product does not ship it."""
import uuid

from django.urls import path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from activities.models import Activity
from reten.urls import urlpatterns as product_urlpatterns
from tenants.roles import P


class BaselineActivityView(APIView):
    required_permission = P.CREATE_ACTIVITY

    def post(self, request):
        activity = Activity.objects.create(
            tenant=request.tenant, type="MESSAGE", channel="WHATSAPP", reason=request.data.get("reason", "bench"),
            idempotency_key=request.data.get("idempotency_key") or str(uuid.uuid4()), scheduled_at=timezone.now(),
        )
        return Response({"id": activity.pk}, status=201)


urlpatterns = [path("bench/baseline-activity", BaselineActivityView.as_view()), *product_urlpatterns]
