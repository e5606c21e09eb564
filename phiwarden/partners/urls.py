from django.urls import path

from phiwarden.partners import views

app_name = "partners"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("clients/", views.client_list, name="client-list"),
    path("clients/<int:client_id>/", views.client_edit, name="client-edit"),
    path("vendors/", views.vendor_list, name="vendor-list"),
    path("vendors/new/", views.vendor_create, name="vendor-create"),
    path("vendors/<int:vendor_id>/", views.vendor_detail, name="vendor-detail"),
    path("vendors/<int:vendor_id>/edit/", views.vendor_edit, name="vendor-edit"),
    path("vendors/<int:vendor_id>/status/", views.vendor_status, name="vendor-status"),
    path("vendors/<int:vendor_id>/diligence/", views.diligence_create, name="diligence-create"),
    path(
        "vendors/<int:vendor_id>/attestations/new/",
        views.attestation_create,
        name="attestation-create",
    ),
    path("baas/", views.baa_list, name="baa-list"),
    path("baas/new/", views.baa_create, name="baa-create"),
    path("baas/register.csv", views.baa_register_csv, name="baa-register-csv"),
    path("baas/register.xlsx", views.baa_register_xlsx, name="baa-register-xlsx"),
    path("baas/<int:baa_id>/", views.baa_detail, name="baa-detail"),
    path("baas/<int:baa_id>/edit/", views.baa_edit, name="baa-edit"),
    path("baas/<int:baa_id>/terminate/", views.baa_terminate, name="baa-terminate"),
    path("baas/<int:baa_id>/documents/new/", views.baa_document_upload, name="baa-document-upload"),
    path("documents/<int:blob_id>/", views.document_download, name="document-download"),
    path("flows/", views.flow_map, name="flow-map"),
    path("flows/map.pdf", views.flow_map_pdf, name="flow-map-pdf"),
    path("flows/new/", views.flow_create, name="flow-create"),
    path("flows/<int:flow_id>/edit/", views.flow_edit, name="flow-edit"),
    path("flows/<int:flow_id>/confirm/", views.flow_confirm, name="flow-confirm"),
    path("flows/<int:flow_id>/retire/", views.flow_retire, name="flow-retire"),
    path("flows/channels/", views.channel_settings, name="channel-settings"),
    path("flows/review/", views.flow_review, name="flow-review"),
    path("import/", views.partners_import, name="import"),
]
