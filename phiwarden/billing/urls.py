from django.urls import path

from phiwarden.billing import views

app_name = "billing"

urlpatterns = [
    path("claims/", views.claim_queue, name="claim-queue"),
    path("claims/export/", views.queue_export, name="queue-export"),
    path("claims/<int:claim_id>/", views.claim_detail, name="claim-detail"),
    path("claims/<int:claim_id>/restrict/", views.claim_restrict, name="claim-restrict"),
    path(
        "claims/<int:claim_id>/restrict/lift/",
        views.claim_restriction_lift,
        name="claim-restriction-lift",
    ),
    path("claims/<int:claim_id>/for-plan/", views.claim_plan_837, name="claim-plan-837"),
    path("payments/unmatched/", views.unmatched_payments, name="unmatched-payments"),
    path("remittances/", views.remittance_list, name="remittance-list"),
    path("remittances/<int:remittance_id>/", views.remittance_detail, name="remittance-detail"),
    path("patients/lookup/", views.patient_lookup, name="patient-lookup"),
    path("imports/", views.x12_upload, name="x12-upload"),
    path("exports/requests/", views.export_request_list, name="export-request-list"),
    path("exports/requests/decide/", views.export_request_decide, name="export-request-decide"),
    path("exports/mine/", views.export_request_mine, name="export-request-mine"),
    path("exports/mine/download/", views.export_request_download, name="export-request-download"),
]
