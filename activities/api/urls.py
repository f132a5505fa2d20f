from django.urls import path

from activities.api import report_views, result_views, views

urlpatterns = [
    path("activities", views.ActivityListCreateView.as_view()),
    path("reports/activities", report_views.ActivitiesReportView.as_view()),
    path("reports/effectiveness", report_views.EffectivenessReportView.as_view()),
    path("activities/tasks", views.ActivityTaskCreateView.as_view()),
    path("activities/bulk", views.ActivityBulkCreateView.as_view()),
    path("activities/bulk-cancel", views.ActivityBulkCancelView.as_view()),
    path("activities/bulk-retry-resolution", views.ActivityBulkRetryResolutionView.as_view()),
    path("activities/bulk-force-retry-dispatch", views.ActivityBulkForceRetryDispatchView.as_view()),
    path("activities/<id:activity_id>", views.ActivityDetailView.as_view()),
    path("activities/<id:activity_id>/cancel", views.ActivityCancelView.as_view()),
    path("activities/<id:activity_id>/retry-resolution", views.ActivityRetryResolutionView.as_view()),
    path("activities/<id:activity_id>/force-retry-dispatch", views.ActivityForceRetryDispatchView.as_view()),
    path("activities/<id:activity_id>/target-users", views.ActivityTargetUsersView.as_view()),
    path("activities/<id:activity_id>/target-users/<id:target_user_id>/resolve",
         views.TargetUserResolveView.as_view()),
    path("activities/<id:activity_id>/attributes", views.ActivityAttributesView.as_view()),
    path("activities/<id:activity_id>/attributes/<id:attribute_id>/resolve",
         views.AttributeResolveView.as_view()),
    path("activities/<id:activity_id>/status-events", views.ActivityStatusEventsView.as_view()),
    path("activity-config/target-resolution", views.TargetResolutionConfigListView.as_view()),
    path("activity-config/target-resolution/<id:config_id>", views.TargetResolutionConfigDetailView.as_view()),
    path("activity-config/attribute-keys", views.AttributeKeyListView.as_view()),
    path("activity-config/attribute-policies", views.AttributePolicyListView.as_view()),
    path("user-retention-statuses", views.UserRetentionStatusListView.as_view()),
    # Results (SPEC 6.1, 6.3)
    path("activity-results", result_views.TaskResultListView.as_view()),
    path("activity-results/tasks", result_views.TaskResultSubmitView.as_view()),
    path("activities/<id:activity_id>/results", result_views.ActivityResultsView.as_view()),
    path("activity-config/task-result-types", result_views.TaskResultTypeListView.as_view()),
    path("activity-config/task-result-types/<id:result_type_id>", result_views.TaskResultTypeDetailView.as_view()),
    # Integration routes: API keys only (tenants.api.integration)
    path("integration/activity-results/tasks", result_views.IntegrationTaskResultSubmitView.as_view()),
    path("integration/task-result-type-configs", result_views.IntegrationTaskResultTypeConfigView.as_view()),
    path("integration/activities/tasks", result_views.IntegrationTaskListView.as_view()),
    # Delivery receipts (SPEC 6.2)
    path("integration/delivery-receipts", result_views.IntegrationDeliveryReceiptView.as_view()),
    path("integration/delivery-receipts/batch", result_views.IntegrationDeliveryReceiptBatchView.as_view()),
    path("activities/<id:activity_id>/delivery-receipts", result_views.ActivityDeliveryReceiptsView.as_view()),
]
