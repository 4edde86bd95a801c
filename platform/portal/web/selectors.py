"""Reads for the portal's own pages."""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    why: str
    link: str
    link_text: str
    done: bool


def setup_steps(*, user):
    """What a platform admin does in the first hour, each step done or not from the platform's state
    (not from clicks), so the page stays right whoever did what where."""
    from django.contrib.auth import get_user_model

    from costs.models import Budget, PriceSheet
    from images.models import ImageTag
    from portal.accounts.models import Team
    from workspaces.models import Workspace

    team = Team.objects.filter(memberships__user=user).order_by("-starter", "name").first()
    others = get_user_model().objects.exclude(pk=user.pk).exists()
    return [
        Step("launch", "Launch a workspace",
             "Your team and sizes for this machine are ready: pick a size, press Launch, and JupyterLab opens.",
             reverse("workspace_list"), "Launch a workspace", Workspace.objects.exists()),
        Step("people", "Invite people",
             "Create accounts (an e-mail invitation lets each person set a password) and add them to a team.",
             reverse("manage_users"), "Users", others),
        Step("prices", "Set prices",
             "What a CPU core, a GiB of memory, a GPU and a GiB of disk cost per hour; until then everything is free.",
             reverse("costs_prices"), "Prices", PriceSheet.objects.exists()),
        Step("budget", "Give your team a budget",
             "A monthly amount with alerts, and whether launches are refused or workspaces stopped at 100 %.",
             reverse("costs_team", args=[team.pk]) if team else reverse("costs"), "Budget", Budget.objects.exists()),
        Step("images", "Add images",
             "Push images to the platform's registry (or add a host Python) and approve them for teams.",
             reverse("image_list"), "Images", ImageTag.objects.exclude(kind=ImageTag.Kind.LOCAL).exists()
             or ImageTag.objects.filter(kind=ImageTag.Kind.LOCAL).count() > 1),
    ]
