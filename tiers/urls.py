from django.urls import path

from tiers import views

app_name = "tiers"

urlpatterns = [
    path("", views.my_tier, name="mine"),
    path("value/", views.value_pareto, name="value"),
    path("value/fit/", views.value_tier_fit, name="tier_fit"),
]
