from django.urls import path

from activities.api import views

urlpatterns = [
    path("activities", views.ActivityListCreateView.as_view()),
    path("activities/tasks", views.ActivityTaskCreateView.as_view()),
    path("activities/bulk", views.ActivityBulkCreateView.as_view()),
    path("activities/<uuid:activity_id>", views.ActivityDetailView.as_view()),
    path("activities/<uuid:activity_id>/cancel", views.ActivityCancelView.as_view()),
    path("activities/<uuid:activity_id>/retry-resolution", views.ActivityRetryResolutionView.as_view()),
    path("activities/<uuid:activity_id>/target-users", views.ActivityTargetUsersView.as_view()),
    path("activities/<uuid:activity_id>/target-users/<uuid:target_user_id>/resolve",
         views.TargetUserResolveView.as_view()),
    path("activities/<uuid:activity_id>/attributes", views.ActivityAttributesView.as_view()),
    path("activities/<uuid:activity_id>/attributes/<uuid:attribute_id>/resolve",
         views.AttributeResolveView.as_view()),
    path("activities/<uuid:activity_id>/status-events", views.ActivityStatusEventsView.as_view()),
    path("activity-config/target-resolution", views.TargetResolutionConfigListView.as_view()),
    path("activity-config/target-resolution/<uuid:config_id>", views.TargetResolutionConfigDetailView.as_view()),
    path("activity-config/attribute-keys", views.AttributeKeyListView.as_view()),
    path("activity-config/attribute-policies", views.AttributePolicyListView.as_view()),
    path("user-retention-statuses", views.UserRetentionStatusListView.as_view()),
]
