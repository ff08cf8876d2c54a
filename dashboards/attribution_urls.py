"""Finance pages, mounted under ``/finance/``: the attribution log, one EQL's credit, config changes."""

from django.urls import path

from dashboards import attribution_views as views

urlpatterns = [
    path("attribution/", views.attribution_log, name="finance-attribution"),
    path("attribution/export.csv", views.attribution_csv, name="finance-attribution-csv"),
    path("attribution/head.jsonl", views.attribution_head, name="finance-attribution-head"),
    path("attribution/eql/", views.attribution_eql_pick, name="finance-attribution-eql-pick"),
    path("attribution/eql/<int:eql_id>/", views.attribution_eql, name="finance-attribution-eql"),
    path("changes/", views.config_changes, name="finance-changes"),
]
