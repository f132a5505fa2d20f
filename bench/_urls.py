"""The product's URLs plus the benchmarks' baselines: the same HTTP, auth and tenancy stack as the route each
benchmark measures, then one bare INSERT. They live here so the product does not ship them.

  POST /bench/baseline-activity   (bench/activity_create.py)  one bare activity row
  POST /bench/baseline-result     (bench/result_ingest.py)    one bare task result row, API-key-only auth
  POST /bench/baseline-receipts   (bench/receipt_ingest.py)   one bare bulk INSERT of the items' receipts
  GET  /bench/ceiling             (bench/api_load.py)         a constant body with no query of its own
"""
import uuid
from datetime import timedelta

from django.urls import path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.views import APIView

from activities.models import Activity, DeliveryReceipt, TaskResult
from reten.urls import urlpatterns as product_urlpatterns
from tenants.api.integration import IntegrationView
from tenants.roles import P


class BaselineActivityView(APIView):
    required_permission = P.CREATE_ACTIVITY

    def post(self, request):
        activity = Activity.objects.create(
            tenant=request.tenant, type="MESSAGE", channel="WHATSAPP", reason=request.data.get("reason", "bench"),
            idempotency_key=request.data.get("idempotency_key") or str(uuid.uuid4()), scheduled_at=timezone.now(),
        )
        return Response({"id": activity.pk}, status=201)


class BaselineResultView(IntegrationView):
    required_permission = P.SUBMIT_ACTIVITY_RESULT

    def post(self, request):
        result = TaskResult.objects.create(
            tenant=request.tenant, source="STANDALONE", commerce_id=request.data["commerce_id"], status="PENDING",
            occurred_at=timezone.now(), result_code="BENCH", dedupe_key=uuid.uuid4().hex,
        )
        return Response({"id": result.pk}, status=201)


class BaselineReceiptsView(IntegrationView):
    required_permission = P.SUBMIT_ACTIVITY_RESULT

    def post(self, request):
        now = timezone.now()
        receipts = DeliveryReceipt.objects.bulk_create([
            # Its own moments, so the baseline rows never meet the product's in the unique constraint.
            DeliveryReceipt(activity_id=item["activity_id"], status=item["status"],
                            occurred_at=now + timedelta(microseconds=n), raw_payload=item.get("raw_payload"))
            for n, item in enumerate(request.data["items"])])
        return Response({"created": len(receipts)}, status=200)


class CeilingView(APIView):
    required_permission = P.VIEW_ACTIVITIES

    def get(self, request):
        return Response({"tenantId": str(request.tenant.pk), "ok": True})


urlpatterns = [
    path("bench/ceiling", CeilingView.as_view()),
    path("bench/baseline-activity", BaselineActivityView.as_view()),
    path("bench/baseline-result", BaselineResultView.as_view()),
    path("bench/baseline-receipts", BaselineReceiptsView.as_view()),
    *product_urlpatterns,
]
