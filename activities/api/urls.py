from django.urls import path

from activities.api import views

urlpatterns = [
    path("activities", views.ActivityListCreateView.as_view()),
    path("activities/tasks", views.ActivityTaskCreateView.as_view()),
    path("activities/bulk", views.ActivityBulkCreateView.as_view()),
    path("activities/<id:activity_id>", views.ActivityDetailView.as_view()),
    path("activities/<id:activity_id>/cancel", views.ActivityCancelView.as_view()),
    path("activities/<id:activity_id>/retry-resolution", views.ActivityRetryResolutionView.as_view()),
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
]
