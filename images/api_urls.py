from django.urls import path

from images import registry_views

urlpatterns = [
    path("registry/token/", registry_views.registry_token, name="registry_token"),
    path("registry/events/", registry_views.registry_events, name="registry_events"),
]
