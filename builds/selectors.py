"""Which builds a person may see: their own; platform admins all. Any other is a 404."""

from django.http import Http404

from builds.models import ImageBuild


def builds_for(user):
    builds = ImageBuild.objects.select_related("owner")
    return builds if user.is_platform_admin else builds.filter(owner=user)


def build_get_for(*, user, pk):
    build = builds_for(user).filter(pk=pk).first()
    if build is None:
        raise Http404("No such build.")
    return build


def log_from(build, offset):
    """(text from ``offset``, next offset); an offset past the end (the log was trimmed) starts again at 0."""
    offset = offset if 0 <= offset <= len(build.log) else 0
    return build.log[offset:], len(build.log)
