"""The product's URLs plus POST /bench/baseline-result: the same HTTP, API-key auth and tenancy stack as the
integration result route, then one bare result INSERT. It lives here so the product does not ship it."""
import uuid

from django.urls import path
from django.utils import timezone
from rest_framework.response import Response

from activities.models import TaskResult
from reten.urls import urlpatterns as product_urlpatterns
from tenants.api.integration import IntegrationView
from tenants.roles import P


class BaselineResultView(IntegrationView):
    required_permission = P.SUBMIT_ACTIVITY_RESULT

    def post(self, request):
        result = TaskResult.objects.create(
            tenant=request.tenant, source="STANDALONE", commerce_id=request.data["commerce_id"], status="PENDING",
            occurred_at=timezone.now(), result_code="BENCH", dedupe_key=uuid.uuid4().hex,
        )
        return Response({"id": result.pk}, status=201)


urlpatterns = [path("bench/baseline-result", BaselineResultView.as_view()), *product_urlpatterns]
