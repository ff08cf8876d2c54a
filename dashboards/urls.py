from django.urls import path

from dashboards import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("healthz", views.liveness, name="healthz"),
]
