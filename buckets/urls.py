from django.urls import path

from buckets import views

urlpatterns = [
    path("", views.data_home, name="data"),
    path("buckets/<int:pk>/", views.bucket_detail, name="data_bucket"),
    path("buckets/<int:pk>/download/", views.object_download, name="data_download"),
    path("buckets/<int:pk>/quota/", views.bucket_quota, name="data_bucket_quota"),
    path("key/rotate/", views.credentials_rotate, name="data_key_rotate"),
    path("key/reveal/", views.credentials_reveal, name="data_key_reveal"),
]
