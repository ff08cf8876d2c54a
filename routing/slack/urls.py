from django.urls import path

from routing.slack import views

urlpatterns = [path("interactions/", views.interactions, name="slack-interactions")]
