"""Top-level URL map. Organization-scoped pages live under /o/<slug>/."""

from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from phiwarden.accounts import views as account_views
from phiwarden.api import api

# The admin must not be a second, MFA-less way in: anonymous visitors sign in through allauth,
# and a signed-in person who is not staff is refused rather than shown Django's own password
# form (which would sign in as someone else without the second factor).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "PHI Warden operations"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("phiwarden.accounts.urls_personal")),
    path("invitations/<str:token>/", account_views.invitation_accept, name="invitation-accept"),
    path("o/<slug:org_slug>/", include("phiwarden.compliance.urls")),
    path("o/<slug:org_slug>/", include("phiwarden.accounts.urls")),
    path("o/<slug:org_slug>/audit/", include("phiwarden.audit.urls")),
    path("o/<slug:org_slug>/billing/", include("phiwarden.billing.urls")),
    path("o/<slug:org_slug>/partners/", include("phiwarden.partners.urls")),
    path("o/<slug:org_slug>/incidents/", include("phiwarden.incidents.urls")),
    path("api/v1/", api.urls),
    path("ops/admin/", admin.site.urls),
]

handler400 = "phiwarden.core.views.bad_request"
handler403 = "phiwarden.core.views.permission_denied"
handler404 = "phiwarden.core.views.page_not_found"
handler500 = "phiwarden.core.views.server_error"
