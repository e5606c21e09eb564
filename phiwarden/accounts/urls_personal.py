from django.urls import path

from phiwarden.accounts import views

app_name = "personal"

urlpatterns = [
    path("security/", views.account_security, name="account-security"),
    path("sessions/end-all/", views.sessions_end_all, name="sessions-end-all"),
]
