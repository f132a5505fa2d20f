from django.urls import path

from dispatch.api import views

urlpatterns = [
    path("dispatch-providers", views.DispatchProvidersView.as_view()),
    path("dispatch-providers/<id:provider_id>", views.DispatchProviderDetailView.as_view()),
    path("dispatch-providers/<id:provider_id>/channel-definitions", views.ChannelDefinitionsView.as_view()),
    path("dispatch-providers/<id:provider_id>/channel-definitions/<id:definition_id>",
         views.ChannelDefinitionDetailView.as_view()),
    path("dispatch-configs", views.DispatchConfigsView.as_view()),
    path("dispatch-configs/<id:config_id>", views.DispatchConfigDetailView.as_view()),
    path("dispatch-configs/<id:config_id>/test", views.DispatchConfigTestView.as_view()),
    path("dispatch-configs/<id:config_id>/rotate-callback-secret",
         views.DispatchConfigRotateCallbackSecretView.as_view()),
    path("dispatch-callbacks/<id:config_id>", views.DispatchCallbackView.as_view()),
    path("activities/tasks/<id:activity_id>/dispatch", views.ActivityTaskDispatchView.as_view()),
    path("activities/<id:activity_id>/dispatch-attempts", views.ActivityDispatchAttemptsView.as_view()),
]
