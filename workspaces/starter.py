"""Starter content: a fresh embedded platform is ready to launch on its first start.

The first admin gets a team of their own and two or three sizes derived from the machine, all
marked ``starter`` so an admin can tell them apart and edit or remove them like any other. A
platform that already has data, or one in production mode, gets nothing: there the admins decide.
"""

import os
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

GIB = 2**30
MIB = 2**20
SMALL_CPU, SMALL_MEMORY = Decimal(1), 2 * GIB
DISK = 10 * GIB
TEAM_NAME = "My team"


@dataclass(frozen=True)
class StarterSize:
    name: str
    cpu: Decimal
    memory_bytes: int


def _memory(amount):
    # Round down to what people would type: whole GiB from 2 GiB up, 256 MiB steps below.
    step = GIB if amount >= 2 * GIB else 256 * MIB
    return int(amount) // step * step


def _cores(amount):
    return max(Decimal("0.5"), (Decimal(amount) * 2).to_integral_value(ROUND_DOWN) / 2)


def starter_sizes(*, cpus, memory_bytes):
    """Sizes for a machine with ``cpus`` cores and ``memory_bytes`` of memory: Small (1 CPU, 2 GiB, or
    half the machine if that is less), Medium (a quarter) and Large (half the machine), each only when
    it is bigger than the one before. Pure; a 2-core, 4 GiB machine gets Small alone."""
    half_cpu, half_memory = _cores(Decimal(cpus) / 2), _memory(memory_bytes / 2)
    candidates = [
        StarterSize("Small", min(SMALL_CPU, Decimal(cpus)), min(SMALL_MEMORY, half_memory)),
        StarterSize("Medium", _cores(Decimal(cpus) / 4), _memory(memory_bytes / 4)),
        StarterSize("Large", half_cpu, half_memory),
    ]
    sizes = []
    for size in candidates:
        # A size must give more of both than the previous one; otherwise it is a confusing near-copy.
        if not sizes or (size.cpu >= sizes[-1].cpu and size.memory_bytes > sizes[-1].memory_bytes):
            sizes.append(size)
    return sizes


def platform_has_data(*, besides):
    """True once anything an admin would have made exists: teams, sizes, workspaces, other users."""
    from portal.accounts.models import Team
    from workspaces.models import Profile, Workspace

    return (Team.objects.exists() or Profile.objects.exists() or Workspace.objects.exists()
            or get_user_model().objects.exclude(pk=besides.pk).exists())


def machine_size():
    """(cores this process may use, physical memory in bytes)."""
    from spawner.feasibility import host_memory_bytes

    return len(os.sched_getaffinity(0)), host_memory_bytes()


def starter_content_create(*, admin, cpus=None, memory_bytes=None):
    """Give a fresh embedded platform a starter team (``admin`` its team admin) and starter sizes.

    Returns (team, profiles), or None when nothing was made: in production mode, or when the
    platform already has data. Call it right after creating the first admin; audited like any
    admin's change, with the admin as the actor."""
    from portal.accounts.models import Membership
    from portal.accounts.services import membership_add, team_create
    from workspaces.profiles import profile_save

    if settings.PRODUCTION or platform_has_data(besides=admin):
        return None
    if cpus is None or memory_bytes is None:
        cpus, memory_bytes = machine_size()
    machine = f"{cpus} CPU{'s' if cpus != 1 else ''}, {memory_bytes / GIB:.0f} GiB"
    with transaction.atomic():
        team = team_create(name=TEAM_NAME, actor=admin, description=(
            "Made at the platform's first start so you can launch at once. Rename it, add people, or make "
            "other teams under Admin → Teams."))
        team.starter = True
        team.save(update_fields=["starter"])
        membership_add(team=team, user=admin, role=Membership.Role.ADMIN, actor=admin)
        profiles = [
            profile_save(actor=admin, name=size.name, cpu=size.cpu, memory_bytes=size.memory_bytes, gpus=0, gpu_type="",
                         disk_bytes=DISK, idle_timeout_minutes=None, max_age_hours=None, hourly_price_hint=0,
                         enabled=True, all_teams=True, starter=True,
                         description=f"A starter size for this machine ({machine}); edit or remove it under Admin → Profiles.")
            for size in starter_sizes(cpus=cpus, memory_bytes=memory_bytes)
        ]
    return team, profiles
