from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("identities/", views.identity_queue, name="identity_queue"),
    path("identities/<int:pk>/match/", views.identity_match, name="identity_match"),
]
