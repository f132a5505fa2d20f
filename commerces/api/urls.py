from django.urls import path

from commerces.api import views

urlpatterns = [
    path("commerces", views.CommercesView.as_view(), name="commerce-list"),
    path("commerces/sync", views.CommerceSyncView.as_view(), name="commerce-sync"),
    path("commerces/<id:commerce_id>", views.CommerceDetailView.as_view(), name="commerce-detail"),
    path("commerces/<id:commerce_id>/users", views.CommerceUsersView.as_view(), name="commerce-users"),
    path("commerces/<id:commerce_id>/users/<id:user_id>", views.CommerceUserDetailView.as_view(),
         name="commerce-user-detail"),
    path("commerces/<id:commerce_id>/users/<id:user_id>/roles", views.CommerceUserRolesView.as_view(),
         name="commerce-user-roles"),
    path("commerces/<id:commerce_id>/users/<id:user_id>/roles/<str:role>",
         views.CommerceUserRoleDetailView.as_view(), name="commerce-user-role-detail"),
    path("commerces/<id:commerce_id>/users/<id:user_id>/contacts", views.CommerceUserContactsView.as_view(),
         name="commerce-user-contacts"),
    path("commerces/<id:commerce_id>/addresses", views.CommerceAddressesView.as_view(), name="commerce-addresses"),
    path("commerces/<id:commerce_id>/addresses/<id:address_id>", views.CommerceAddressDetailView.as_view(),
         name="commerce-address-detail"),
    path("operators", views.OperatorsView.as_view(), name="operator-list"),
    path("operators/sync", views.OperatorSyncView.as_view(), name="operator-sync"),
    path("operators/<id:operator_id>", views.OperatorDetailView.as_view(), name="operator-detail"),
    path("routes", views.RoutesView.as_view(), name="route-list"),
    path("routes/<id:route_id>", views.RouteDetailView.as_view(), name="route-detail"),
    path("routes/<id:route_id>/operators", views.RouteOperatorsView.as_view(), name="route-operators"),
    path("routes/<id:route_id>/operators/<id:operator_id>", views.RouteOperatorDetailView.as_view(),
         name="route-operator-detail"),
]
