"""Report pages, mounted under ``/reports/``: coverage diagnostic, signal conversion, weekly KPIs."""

from django.urls import path

from dashboards import report_views as views

urlpatterns = [
    path("coverage/", views.coverage, name="reports-coverage"),
    path("coverage/untouched.csv", views.coverage_untouched_csv, name="reports-coverage-untouched-csv"),
    path("signals/", views.signals, name="reports-signals"),
    path("kpis/", views.kpis, name="reports-kpis"),
]
