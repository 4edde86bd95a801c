"""Profile (hardware tier) rules, for platform admins."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal.audit.services import audit_record
from portal.names import name_clean
from workspaces.models import Profile

MIN_MEMORY = 128 * 2**20
# Far above any machine of today; they keep cost arithmetic and the spawners' numbers in range.
MAX_MEMORY = 64 * 2**40
MAX_DISK = 2**50


def _validate(fields):
    errors = {}
    if fields["memory_bytes"] < MIN_MEMORY:
        errors["memory"] = "Give a workspace at least 128 MiB of memory; Jupyter does not start with less."
    elif fields["memory_bytes"] > MAX_MEMORY:
        errors["memory"] = "At most 64 TiB of memory."
    if fields["disk_bytes"] > MAX_DISK:
        errors["disk"] = "At most 1 PiB of disk."
    if fields["gpu_type"] and not fields["gpus"]:
        errors["gpu_type"] = "A GPU type needs a GPU count above 0."
    if fields["gpus"] and fields["memory_bytes"] < 2**30:
        errors["memory"] = "GPU profiles need at least 1 GiB of memory."
    if not fields["all_teams"] and not fields["teams"]:
        errors["teams"] = "List the teams that may use it, or open it to all teams."
    if errors:
        raise ValidationError(errors)


def profile_save(*, actor, profile=None, request=None, **fields):
    """Create (``profile`` None) or update a profile. Fields: name, description, cpu, memory_bytes, gpus,
    gpu_type, disk_bytes, idle_timeout_minutes, max_age_hours, hourly_price_hint, enabled, all_teams, teams."""
    teams = fields.pop("teams", [])
    fields["name"] = name_clean(fields["name"], field="name", max_length=60)
    _validate({**fields, "teams": teams})
    duplicate = Profile.objects.filter(name__iexact=fields["name"])
    if profile is not None:
        duplicate = duplicate.exclude(pk=profile.pk)
    if duplicate.exists():
        raise ValidationError({"name": f"A profile named {fields['name']!r} exists already."})
    try:
        with transaction.atomic():
            if profile is None:
                profile = Profile.objects.create(**fields)
                action = "profile.created"
            else:
                for key, value in fields.items():
                    setattr(profile, key, value)
                profile.save()
                action = "profile.updated"
            profile.teams.set(teams)
            audit_record(action=action, actor=actor, request=request, target=profile, data={"summary": profile.summary})
    except IntegrityError:  # the same name saved at the same moment, between the check above and here
        raise ValidationError({"name": f"A profile named {fields['name']!r} exists already."}) from None
    return profile


def profile_form_initial(profile):
    """The profile as the admin form shows it (sizes as people write them)."""
    return {"name": profile.name, "description": profile.description, "cpu": profile.cpu.normalize(),
            "memory": _exact_size(profile.memory_bytes), "gpus": profile.gpus, "gpu_type": profile.gpu_type,
            "disk": _exact_size(profile.disk_bytes), "idle_timeout_minutes": profile.idle_timeout_minutes,
            "max_age_hours": profile.max_age_hours, "hourly_price_hint": profile.hourly_price_hint,
            "enabled": profile.enabled, "all_teams": profile.all_teams, "teams": list(profile.teams.all())}


def profile_delete(*, actor, profile, request=None):
    """Delete a profile no workspace uses (a starter size nobody launched, say); one that has been used
    stays in the history of its workspaces and costs, so it can only be disabled."""
    if profile.workspaces.exists():
        raise ValidationError({"profile": f"{profile.name} has workspaces (running or in their history): "
                                          "disable it instead, so nobody launches it any more."})
    with transaction.atomic():
        audit_record(action="profile.deleted", actor=actor, request=request, target=profile, data={"summary": profile.summary})
        profile.delete()


def _exact_size(size):
    # Not format_size: "11.8 GiB" would save back as a different size.
    for unit, factor in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)
