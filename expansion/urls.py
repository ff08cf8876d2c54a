"""URL map: inbox and reports (dashboards), REST API, admin, health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("health/", include("dashboards.health_urls")),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("expansion.api_urls")),
    path("api/", include("routing.api_urls")),
    path("finance/", include("dashboards.attribution_urls")),
    path("reports/", include("dashboards.report_urls")),
    path("backtests/", include("dashboards.backtest_urls")),
    path("slack/", include("routing.slack.urls")),
    path("", include("dashboards.urls")),
]

handler500 = "expansion.errors.server_error"
