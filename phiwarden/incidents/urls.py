from django.urls import path

from phiwarden.incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("report/", views.incident_report, name="report"),
    path("breach-log/", views.breach_log, name="breach-log"),
    path("breach-log/export/", views.breach_log_export, name="breach-log-export"),
    path("<int:incident_id>/", views.incident_detail, name="detail"),
    path("<int:incident_id>/edit/", views.incident_edit, name="edit"),
    path("<int:incident_id>/evidence/", views.evidence_take, name="evidence"),
    path("<int:incident_id>/scope/", views.scope, name="scope"),
    path("<int:incident_id>/assessment/new/", views.assessment_new, name="assessment-new"),
    path("<int:incident_id>/notices/sent/", views.notice_sent, name="notice-sent"),
    path("<int:incident_id>/notices/acknowledged/", views.notice_ack, name="notice-ack"),
    path("<int:incident_id>/actions/new/", views.action_add, name="action-add"),
    path("<int:incident_id>/close/", views.incident_close, name="close"),
    path("<int:incident_id>/timeline.pdf", views.timeline_pdf, name="timeline-pdf"),
    # Objects of an incident, by their own id (each is looked up in the organization).
    path("steps/<int:step_id>/", views.step_record, name="step"),
    path("assessments/<int:assessment_id>/", views.assessment, name="assessment"),
    path("assessments/<int:assessment_id>/sign/", views.assessment_sign, name="assessment-sign"),
    path("notices/<int:notice_id>/generate/", views.notice_generate, name="notice-generate"),
    path("notices/<int:notice_id>/<str:kind>/", views.notice_download, name="notice-download"),
    path("actions/<int:action_id>/done/", views.action_done, name="action-done"),
    path("actions/<int:action_id>/verify/", views.action_verify, name="action-verify"),
]
