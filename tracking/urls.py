from django.urls import re_path

from tracking import views

urlpatterns = [re_path(r"^(?P<path>.*)$", views.mlflow_proxy, name="mlflow")]
