from django.urls import path

from tickets.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.article_list, name="list"),
    path("suggest/", views.article_suggest, name="suggest"),
    path("new/", views.article_create, name="create"),
    path("insights/", views.insights, name="insights"),
    path("from-ticket/<int:ticket_pk>/", views.article_from_ticket, name="from_ticket"),
    path("<int:pk>/", views.article_detail, name="article"),
    path("<int:pk>/edit/", views.article_edit, name="edit"),
    path("<int:pk>/answered/", views.article_answered, name="answered"),
]
