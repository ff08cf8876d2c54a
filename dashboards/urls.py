from django.urls import path

from dashboards import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("eqls/<int:pk>/", views.eql_detail, name="eql"),
    path("eqls/<int:pk>/events/", views.eql_event, name="eql_event"),
    path("eqls/<int:pk>/crm/<slug:name>/", views.eql_crm_create, name="eql_crm_create"),
    path("reviews/", views.reviews, name="reviews"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
]
