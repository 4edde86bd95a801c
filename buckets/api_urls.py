from django.urls import path

from buckets import api

urlpatterns = [
    path("buckets/", api.BucketListApi.as_view(), name="api_bucket_list"),
    path("buckets/<int:pk>/", api.BucketDetailApi.as_view(), name="api_bucket_detail"),
    path("buckets/<int:pk>/objects/", api.BucketObjectsApi.as_view(), name="api_bucket_objects"),
    path("buckets/<int:pk>/download-link/", api.DownloadLinkApi.as_view(), name="api_bucket_download_link"),
    path("buckets/<int:pk>/upload-link/", api.UploadLinkApi.as_view(), name="api_bucket_upload_link"),
    path("buckets/<int:pk>/quota/", api.BucketQuotaApi.as_view(), name="api_bucket_quota"),
    path("teams/<int:team_id>/buckets/", api.TeamBucketListApi.as_view(), name="api_team_buckets"),
    path("users/me/s3-credentials/", api.CredentialsApi.as_view(), name="api_s3_credentials"),
    path("users/me/s3-credentials/rotate/", api.CredentialsRotateApi.as_view(), name="api_s3_credentials_rotate"),
    path("users/me/s3-credentials/reveal/", api.CredentialsRevealApi.as_view(), name="api_s3_credentials_reveal"),
]
