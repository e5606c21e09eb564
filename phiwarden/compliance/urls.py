from django.urls import path

from phiwarden.compliance import views

app_name = "compliance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("obligations/", views.obligations, name="obligations"),
]
