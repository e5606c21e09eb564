from django.urls import path

from phiwarden.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.event_list, name="event-list"),
    path("export/", views.event_export, name="event-export"),
    path("reviews/", views.review_list, name="review-list"),
    path("reviews/schedule/", views.review_schedule, name="review-schedule"),
    path("reviews/<str:period>/", views.review_detail, name="review-detail"),
    path("reviews/<str:period>/sign/", views.review_sign, name="review-sign"),
]
