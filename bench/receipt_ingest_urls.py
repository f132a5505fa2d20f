"""The product's URLs plus POST /bench/baseline-receipts: the same HTTP, API-key auth and tenancy stack as the
integration receipt batch route, then one bare bulk INSERT of the items. It lives here so the product does not
ship it."""
from datetime import timedelta

from django.urls import path
from django.utils import timezone
from rest_framework.response import Response

from activities.models import DeliveryReceipt
from reten.urls import urlpatterns as product_urlpatterns
from tenants.api.integration import IntegrationView
from tenants.roles import P


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


urlpatterns = [path("bench/baseline-receipts", BaselineReceiptsView.as_view()), *product_urlpatterns]
