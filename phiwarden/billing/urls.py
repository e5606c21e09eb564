from django.urls import path

from phiwarden.billing import views

app_name = "billing"

urlpatterns = [
    path("claims/", views.claim_queue, name="claim-queue"),
    path("claims/export/", views.queue_export, name="queue-export"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim-detail"),
    path("payments/unmatched/", views.unmatched_payments, name="unmatched-payments"),
    path("patients/lookup/", views.patient_lookup, name="patient-lookup"),
    path("imports/", views.x12_upload, name="x12-upload"),
]
