"""The Data page: your buckets, your teams', their state, browsing, uploads and downloads straight to and
from the store (presigned), snippets, and your S3 key. Thin: rules live in services."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from buckets import selectors, services
from buckets.storage import StorageError


def _error(request, exc):
    if isinstance(exc, ValidationError):
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.error(request, services.storage_unavailable_reason(exc))


@login_required
def data_home(request):
    identity = selectors.identity_for(user=request.user)
    key = services.current_key(identity) if identity is not None else None
    return render(request, "buckets/home.html", {
        "buckets": selectors.bucket_list_for(user=request.user), "identity": identity, "key": key,
        "store_configured": services.storage() is not None, "section": "data"})


@login_required
def bucket_detail(request, pk):
    bucket = selectors.bucket_get_for(user=request.user, pk=pk)
    prefix = request.GET.get("prefix", "")
    context = {"bucket": bucket, "prefix": prefix, "section": "data", "listing": None, "upload": None,
               "endpoint": settings.PLATFORM_S3_PUBLIC_URL, "uploaded": request.GET.get("key", "")}
    try:
        context["prefix"], context["listing"] = services.bucket_browse(bucket=bucket, user=request.user, prefix=prefix,
                                                                       token=request.GET.get("token", ""))
        back = request.build_absolute_uri(reverse("data_bucket", args=[bucket.pk]) + "?" + urlencode({"prefix": context["prefix"]}))
        if not bucket.over_quota:
            context["upload"] = services.upload_form(bucket=bucket, user=request.user, prefix=context["prefix"], redirect=back)
    except (ValidationError, StorageError) as exc:
        context["unavailable"] = "; ".join(exc.messages) if isinstance(exc, ValidationError) else services.storage_unavailable_reason(exc)
    parents = []
    parts = [part for part in context["prefix"].split("/") if part]
    for index, part in enumerate(parts):
        parents.append({"name": part, "prefix": "/".join(parts[: index + 1]) + "/"})
    context["parents"] = parents
    return render(request, "buckets/bucket.html", context)


@login_required
def object_download(request, pk):
    bucket = selectors.bucket_get_for(user=request.user, pk=pk)
    try:
        return HttpResponseRedirect(services.object_download_link(bucket=bucket, user=request.user, key=request.GET.get("key")))
    except (ValidationError, StorageError) as exc:
        _error(request, exc)
        return redirect("data_bucket", pk=bucket.pk)


@login_required
@require_POST
def bucket_quota(request, pk):
    bucket = selectors.bucket_get_for(user=request.user, pk=pk)
    if not request.user.is_platform_admin:
        messages.error(request, "Only platform admins set quotas.")
        return redirect("data_bucket", pk=bucket.pk)
    value = request.POST.get("quota_gib", "").strip()
    try:
        quota = None if value == "" else _gib(value)
        services.bucket_set_quota(bucket=bucket, quota_bytes=quota, actor=request.user, request=request)
        messages.success(request, f"Quota of {bucket.name} saved.")
    except ValidationError as exc:
        _error(request, exc)
    return redirect("data_bucket", pk=bucket.pk)


def _gib(value):
    try:
        gib = float(value)
    except ValueError:
        raise ValidationError({"quota_bytes": "Give the quota in GiB (e.g. 50), or leave it empty for none."}) from None
    if not 0 < gib < 2**33:
        raise ValidationError({"quota_bytes": "Give a quota between 0.001 and 8589934592 GiB."})
    return int(gib * 2**30)


@login_required
@require_POST
def credentials_rotate(request):
    try:
        services.credentials_request_rotation(user=request.user, actor=request.user, request=request)
        messages.success(request, "A new key is being made; the old one keeps working for "
                                  f"{settings.PLATFORM_BUCKETS_KEY_GRACE_MINUTES} minutes.")
    except ValidationError as exc:
        _error(request, exc)
    return redirect("data")


@login_required
@require_POST
def credentials_reveal(request):
    try:
        key_id, secret = services.credentials_reveal(user=request.user, request=request)
    except ValidationError as exc:
        _error(request, exc)
        return redirect("data")
    response = render(request, "buckets/secret.html", {"key_id": key_id, "secret": secret, "section": "data",
                                                       "endpoint": settings.PLATFORM_S3_PUBLIC_URL,
                                                       "region": settings.PLATFORM_S3_REGION})
    response["Cache-Control"] = "no-store"
    return response
