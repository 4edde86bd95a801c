from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def workspace_list(request):
    return render(request, "workspaces/workspace_list.html", {"section": "workspaces"})
