from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from expansion import api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("import/<str:file>", api.ImportFileView.as_view(), name="api-import"),
    path("events/", api.EventsView.as_view(), name="api-events"),
]
