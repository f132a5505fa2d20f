from django.urls import path

from tenants.api import audit, views

urlpatterns = [
    path("auth/login", views.LoginView.as_view()),
    path("auth/refresh", views.RefreshView.as_view()),
    path("auth/logout", views.LogoutView.as_view()),
    path("auth/me", views.MeView.as_view()),
    path("auth/reset-my-password", views.ResetMyPasswordView.as_view()),
    path("auth/reset-user-password", views.ResetUserPasswordView.as_view()),
    path("auth/assignable-roles", views.AssignableRolesView.as_view()),
    path("tenant", views.TenantListView.as_view()),
    path("tenant/mine", views.MyTenantsView.as_view()),
    path("tenant/setup", views.TenantSetupView.as_view()),
    path("tenant/<id:tenant_id>", views.TenantDetailView.as_view()),
    path("user/tenant-users", views.TenantUsersView.as_view()),
    path("user/<id:user_id>/roles", views.UserRolesView.as_view()),
    path("user/invitations", views.InvitationsView.as_view()),
    path("user/invitations/<id:invitation_id>/accept", views.InvitationAcceptView.as_view()),
    path("user/invitations/<id:invitation_id>/decline", views.InvitationDeclineView.as_view()),
    path("user/<id:user_id>", views.TenantUserDetailView.as_view()),  # after user/invitations: <id> takes any text
    path("api-keys", views.ApiKeysView.as_view()),
    path("api-keys/<id:key_id>/revoke", views.ApiKeyRevokeView.as_view()),
    path("audit-log", audit.AuditLogView.as_view()),
]
