from django.urls import path

from phiwarden.accounts import views

app_name = "accounts"

urlpatterns = [
    path("members/", views.member_list, name="member-list"),
    path("members/invite/", views.invitation_create, name="invitation-create"),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("members/<int:member_id>/", views.member_edit, name="member-edit"),
    path("members/<int:member_id>/deactivate/", views.member_deactivate, name="member-deactivate"),
    path("members/<int:member_id>/reactivate/", views.member_reactivate, name="member-reactivate"),
    path("settings/security/", views.security_settings, name="security-settings"),
    path("tokens/", views.api_token_list, name="api-token-list"),
    path("tokens/new/", views.api_token_create, name="api-token-create"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
