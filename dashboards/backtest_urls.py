"""Backtest pages, mounted under ``/backtests/`` (RevOps)."""

from django.urls import path

from dashboards import backtest_views as views

urlpatterns = [
    path("", views.backtest_list, name="backtest-list"),
    path("compare/", views.backtest_compare, name="backtest-compare"),
    path("<int:pk>/", views.backtest_detail, name="backtest"),
    path("<int:pk>/progress/", views.backtest_progress, name="backtest-progress"),
    path("preview/signal/", views.signal_preview, name="backtest-signal-preview-new"),
    path("preview/signal/<int:pk>/", views.signal_preview, name="backtest-signal-preview"),
    path("preview/gate/", views.gate_preview, name="backtest-gate-preview-new"),
    path("preview/gate/<int:pk>/", views.gate_preview, name="backtest-gate-preview"),
    path("preview/policy/<int:pk>/", views.policy_preview, name="backtest-policy-preview"),
    path("preview/routing-rule/", views.routing_rule_preview, name="backtest-routing-preview-new"),
    path("preview/routing-rule/<int:pk>/", views.routing_rule_preview, name="backtest-routing-preview"),
]
