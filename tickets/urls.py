from django.urls import path

from tickets.views import (
    actions,
    create,
    detail,
    files,
    insights,
    rating_link,
    staff_queue,
    ticket_list,
)

app_name = "tickets"

urlpatterns = [
    path("", ticket_list.ticket_list, name="list"),
    path("export.csv", ticket_list.ticket_list_csv, name="list_csv"),
    path("new/", create.ticket_create, name="create"),
    path("<int:pk>/", detail.ticket_detail, name="detail"),
    path("<int:pk>/reply/", actions.ticket_reply, name="reply"),
    path("<int:pk>/status/", actions.ticket_status, name="status"),
    path("<int:pk>/triage/", actions.ticket_triage, name="triage"),
    path("<int:pk>/merge/", actions.ticket_merge, name="merge"),
    path("<int:pk>/rate/", actions.ticket_rate, name="rate"),
    path("<int:pk>/follow/", actions.ticket_follow, name="follow"),
    path("<int:pk>/cc/", actions.ticket_cc, name="cc"),
    path("rate/<str:token>/", rating_link.ticket_rate_by_link, name="rate_link"),
    path("emails/<int:pk>/original.eml", files.inbound_email_download, name="email_raw"),
    path("attachments/<int:pk>/", files.attachment_download, name="attachment"),
    path("queue/", staff_queue.ticket_queue, name="queue"),
    path("queue/views/", staff_queue.saved_view_save, name="view_save"),
    path("queue/views/<int:pk>/delete/", staff_queue.saved_view_delete, name="view_delete"),
    path("queue/bulk/", staff_queue.ticket_bulk, name="bulk"),
    path("insights/", insights.insights, name="insights"),
    path("improvements/new/", insights.improvement_create, name="improvement_create"),
    path("improvements/<int:pk>/", insights.improvement_detail, name="improvement"),
]
