"""The real URLs plus one route nobody listed: the matrix test must notice it."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as real_urlpatterns

urlpatterns = [
    *real_urlpatterns,
    path("new-unlisted-route/", lambda request: HttpResponse(), name="unlisted"),
]
