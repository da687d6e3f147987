from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("export.csv", views.ticket_list_csv, name="list_csv"),
    path("new/", views.ticket_create, name="create"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/reply/", views.ticket_reply, name="reply"),
    path("<int:pk>/status/", views.ticket_status, name="status"),
    path("<int:pk>/triage/", views.ticket_triage, name="triage"),
    path("<int:pk>/merge/", views.ticket_merge, name="merge"),
    path("<int:pk>/rate/", views.ticket_rate, name="rate"),
    path("<int:pk>/follow/", views.ticket_follow, name="follow"),
    path("<int:pk>/cc/", views.ticket_cc, name="cc"),
    path("rate/<str:token>/", views.ticket_rate_by_link, name="rate_link"),
    path("emails/<int:pk>/original.eml", views.inbound_email_download, name="email_raw"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("queue/", views.ticket_queue, name="queue"),
    path("queue/views/", views.saved_view_save, name="view_save"),
    path("queue/views/<int:pk>/delete/", views.saved_view_delete, name="view_delete"),
    path("queue/bulk/", views.ticket_bulk, name="bulk"),
    path("insights/", views.insights, name="insights"),
    path("improvements/new/", views.improvement_create, name="improvement_create"),
    path("improvements/<int:pk>/", views.improvement_detail, name="improvement"),
]
