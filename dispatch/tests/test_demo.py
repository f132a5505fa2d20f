from io import StringIO

import pytest

from dispatch import demo
from dispatch.models import DispatchConfig

pytestmark = pytest.mark.django_db


def test_demo_seeds_a_mock_config_per_channel_once(tenant):
    first, second = StringIO(), StringIO()

    demo.seed(tenant=tenant, stdout=first)
    snapshot = list(DispatchConfig.objects.order_by("channel").values_list("id", "channel", "provider__code",
                                                                           "settings", "updated_at"))
    demo.seed(tenant=tenant, stdout=second)

    receipts = {"receiptDelayMs": 3000, "receiptFailureRate": 0.15}
    assert [(row[1], row[2], row[3]) for row in snapshot] == [
        (channel, "MOCK", {"failureRate": 0.1, "latencyMs": 50, **({} if channel in ("SALESMAN", "CALLCENTER")
                                                                    else receipts)})
        for channel in sorted(["SALESMAN", "CALLCENTER", "WHATSAPP", "EMAIL", "SMS", "PUSH"])]
    assert list(DispatchConfig.objects.order_by("channel").values_list("id", "channel", "provider__code", "settings",
                                                                       "updated_at")) == snapshot
    assert "6 MOCK config(s) created" in first.getvalue()
    assert "0 MOCK config(s) created, 6 channel(s) already configured" in second.getvalue()
