from django.urls import path

from webhooks.api import views

urlpatterns = [
    path("webhook-endpoints", views.WebhookEndpointsView.as_view()),
    path("webhook-endpoints/<id:endpoint_id>", views.WebhookEndpointDetailView.as_view()),
    path("webhook-endpoints/<id:endpoint_id>/rotate-secret", views.WebhookEndpointRotateSecretView.as_view()),
    path("webhook-endpoints/<id:endpoint_id>/test", views.WebhookEndpointTestView.as_view()),
    path("webhook-endpoints/<id:endpoint_id>/deliveries", views.WebhookEndpointDeliveriesView.as_view()),
    path("webhook-deliveries/<id:delivery_id>/retry", views.WebhookDeliveryRetryView.as_view()),
]
