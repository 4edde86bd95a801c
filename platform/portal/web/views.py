from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render

from portal.web.helpers import platform_admin_required
from portal.web.selectors import setup_steps


def _first_session(user):
    # Sign-ins are audited (accounts/signals.py); during the first one, home is the what-to-do-next page.
    from portal.audit.models import AuditEvent

    return AuditEvent.objects.filter(action="auth.login", actor_id=user.pk).count() <= 1


@login_required
def home(request):
    if request.user.is_platform_admin and _first_session(request.user):
        return redirect("welcome")
    return redirect("workspace_list")


@platform_admin_required
def welcome(request):
    """What to do next: the first hour of a platform admin, with what is done already."""
    steps = setup_steps(user=request.user)
    return render(request, "web/welcome.html", {"steps": steps, "section": "manage",
                                                "done": sum(step.done for step in steps)})


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "errors": {}}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Something went wrong on our side.", "errors": {}}, status=500)
    return render(request, "500.html", status=500)
