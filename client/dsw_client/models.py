"""Typed, read-only views of the API's objects.

Each class has the API object's fields under the same names (a test compares them with the
OpenAPI schema), times as aware ``datetime``\\ s, nested objects typed, and ``raw``: the JSON object
exactly as the API sent it (what ``dsw … --json`` prints). Fields the API adds later are in
``raw`` until the client learns them.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field, fields
from datetime import datetime
from typing import Any, Callable


def _when(value):
    if not value:
        return None
    # datetime.fromisoformat reads a trailing "Z" only from Python 3.11 on.
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


def _convert(function: Callable) -> dict:
    return {"convert": function}


WHEN = _convert(_when)


def _one(model):
    return _convert(lambda value: model.from_api(value) if value is not None else None)


def _many(model):
    return _convert(lambda values: [model.from_api(value) for value in values or []])


class _Model:
    """What every typed object does, written once. The classes below only declare their fields
    (``_typed``): having ``dataclass`` generate __init__, __repr__, __eq__ and a frozen __setattr__
    for each of them cost about 10 ms of every ``dsw`` start (measured), and so does a class without
    a docstring (dataclass then builds one from its signature)."""

    __hash__ = None  # compared by value, like a dataclass with eq: not hashable

    @classmethod
    def from_api(cls, data: dict):
        made = object.__new__(cls)
        for item in fields(cls):
            convert = item.metadata.get("convert")
            value = data if item.name == "raw" else data.get(item.name)
            object.__setattr__(made, item.name, convert(value) if convert else value)
        return made

    def __repr__(self):
        shown = ", ".join(f"{item.name}={getattr(self, item.name)!r}" for item in fields(self) if item.repr)
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, item.name) == getattr(other, item.name) for item in fields(self) if item.compare)

    def __setattr__(self, name, value):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")


_typed = dataclass(init=False, repr=False, eq=False)


# --- Accounts -----------------------------------------------------------------

@_typed
class TeamRole(_Model):
    """A team you belong to, with your role in it (member or admin)."""

    id: int
    name: str
    slug: str
    role: str
    raw: dict = field(repr=False, compare=False)


@_typed
class Me(_Model):
    """Your account; ``teams`` are yours with your role in each."""

    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_platform_admin: bool
    teams: list[TeamRole] = field(metadata=_many(TeamRole))
    date_joined: datetime | None = field(metadata=WHEN)
    last_login: datetime | None = field(metadata=WHEN)
    raw: dict = field(repr=False, compare=False)


@_typed
class Team(_Model):
    """A team; ``my_role`` is yours in it (member, admin, or None)."""

    id: int
    name: str
    slug: str
    description: str
    created: datetime | None = field(metadata=WHEN)
    member_count: int
    my_role: str | None
    raw: dict = field(repr=False, compare=False)


@_typed
class Membership(_Model):
    """Someone's place in a team: ``role`` is member or admin."""

    id: int
    team: int
    user_id: int
    username: str
    full_name: str
    role: str
    created: datetime | None = field(metadata=WHEN)
    raw: dict = field(repr=False, compare=False)


@_typed
class Token(_Model):
    """A personal access token as listed (never its secret). ``state``: active, expired or revoked."""

    id: int
    name: str
    scope: str
    prefix: str
    created: datetime | None = field(metadata=WHEN)
    expires: datetime | None = field(metadata=WHEN)
    last_used: datetime | None = field(metadata=WHEN)
    revoked: datetime | None = field(metadata=WHEN)
    state: str
    raw: dict = field(repr=False, compare=False)


@_typed
class CreatedToken(_Model):
    """A token just created: ``token`` is the secret, shown this once (kept out of ``repr``)."""

    id: int
    name: str
    scope: str
    token: str = field(repr=False)
    expires: datetime | None = field(metadata=WHEN)
    raw: dict = field(repr=False, compare=False)


# --- Workspaces ---------------------------------------------------------------

@_typed
class BudgetHours(_Model):
    """For one of your teams with a budget: what remains (minor units) and the hours of a size it pays for."""

    team: str
    remaining: int
    hours: float | None
    raw: dict = field(repr=False, compare=False)


@_typed
class Profile(_Model):
    """A size you may launch. ``memory``/``disk`` read like "2Gi"; prices are per hour, ``hourly_price``
    in minor units, ``hourly_price_decimal`` in currency units ("0.21")."""

    id: int
    name: str
    description: str
    cpu: str
    memory_bytes: int
    memory: str
    gpus: int
    gpu_type: str
    disk_bytes: int
    disk: str
    idle_timeout_minutes: int | None
    max_age_hours: int | None
    hourly_price_hint: int
    hourly_price: int
    hourly_price_decimal: str
    currency: str
    budget_hours: list[BudgetHours] = field(metadata=_many(BudgetHours))
    enabled: bool
    all_teams: bool
    teams: list[str]
    summary: str
    starter: bool
    raw: dict = field(repr=False, compare=False)


@_typed
class CullWarning(_Model):
    """An automatic stop (idle or maximum age) is pending."""

    deadline: datetime | None = field(metadata=WHEN)
    reason: str
    can_keep_running: bool
    raw: dict = field(repr=False, compare=False)


@_typed
class BudgetStop(_Model):
    """The team's budget is used up: its running workspaces stop at ``deadline``."""

    deadline: datetime | None = field(metadata=WHEN)
    raw: dict = field(repr=False, compare=False)


@_typed
class Workspace(_Model):
    """``status``: pending, starting, running, stopping, stopped or failed. ``url`` (set while it runs) is
    where JupyterLab answers: use it as given, it may be on another host than the API."""

    id: int
    name: str
    owner: str
    team: str
    project: str | None
    project_id: int | None
    profile: str
    image: str
    status: str
    status_message: str
    failure_reason: str
    progress: int
    url: str | None
    created: datetime | None = field(metadata=WHEN)
    started: datetime | None = field(metadata=WHEN)
    stopped: datetime | None = field(metadata=WHEN)
    cull_warning: CullWarning | None = field(metadata=_one(CullWarning))
    budget_stop: BudgetStop | None = field(metadata=_one(BudgetStop))
    raw: dict = field(repr=False, compare=False)


@_typed
class WorkspaceEvent(_Model):
    """One step of a workspace's lifecycle (created, spawn_requested, running, stop_requested, …)."""

    id: int
    created: datetime | None = field(metadata=WHEN)
    kind: str
    actor: str
    message: str
    data: dict
    raw: dict = field(repr=False, compare=False)


# --- Images -------------------------------------------------------------------

@_typed
class Image(_Model):
    """A catalog entry. ``reference`` is what a launch takes (``platform/python:TAG``, ``local:default``)."""

    id: int
    reference: str
    repository: str
    namespace: str
    tag: str
    kind: str
    status: str
    managed: bool
    digest: str
    pinned_reference: str | None
    title: str
    description: str
    source: str
    revision: str
    size_bytes: int
    python_version: str
    key_packages: dict
    recommended: bool
    all_teams: bool
    teams: list[str]
    replacement: str | None
    deprecation_message: str
    digest_changed: bool
    previous_digest: str
    present: bool
    python: str
    scan: dict
    created: datetime | None = field(metadata=WHEN)
    updated: datetime | None = field(metadata=WHEN)
    raw: dict = field(repr=False, compare=False)


@_typed
class LaunchChoices(_Model):
    """What you may launch from, for a team: ``default`` is the reference a launch without an image uses;
    each of ``results`` has reference, recommended, deprecated, replacement, message, blocked, blocked_reasons."""

    team: str | None
    default: str | None
    results: list[dict[str, Any]]
    raw: dict = field(repr=False, compare=False)


# --- Costs ----------------------------------------------------------------------

@_typed
class PriceSheet(_Model):
    """A version of the prices, in minor units with ``_decimal`` twins in currency units."""

    id: int
    effective_from: datetime | None = field(metadata=WHEN)
    currency: str
    cpu_core_hour: int
    memory_gib_hour: int
    gpu_hour: dict
    storage_gib_month: int
    cpu_core_hour_decimal: str
    memory_gib_hour_decimal: str
    gpu_hour_decimal: dict
    storage_gib_month_decimal: str
    note: str
    created: datetime | None = field(metadata=WHEN)
    created_by: int | None
    raw: dict = field(repr=False, compare=False)


@_typed
class BudgetStatus(_Model):
    """The current period; amounts in minor units."""

    period_start: datetime | None = field(metadata=WHEN)
    period_end: datetime | None = field(metadata=WHEN)
    limit: int
    spent: int
    remaining: int
    forecast: int
    percent: float | None
    raw: dict = field(repr=False, compare=False)


@_typed
class BudgetGrant(_Model):
    """A time-boxed increase of a team's budget."""

    id: int
    amount: int
    amount_decimal: str
    starts: datetime | None = field(metadata=WHEN)
    ends: datetime | None = field(metadata=WHEN)
    reason: str
    created_by: str
    created: datetime | None = field(metadata=WHEN)
    raw: dict = field(repr=False, compare=False)


@_typed
class Budget(_Model):
    """A team's budget. ``action`` at 100 %: notify, block_launches or stop_workspaces."""

    team: int
    amount: int
    amount_decimal: str
    currency: str
    thresholds: list[int]
    action: str
    grace_minutes: int
    period_start_day: int
    time_zone: str
    updated: datetime | None = field(metadata=WHEN)
    status: BudgetStatus = field(metadata=_one(BudgetStatus))
    stop_after: datetime | None = field(metadata=WHEN)
    grants: list[BudgetGrant] = field(metadata=_many(BudgetGrant))
    raw: dict = field(repr=False, compare=False)


@_typed
class CostGroup(_Model):
    """One line of a cost report: ``key`` and ``label`` of the group, ``cost`` in minor units."""

    key: str
    label: str
    cost: int
    hours: float
    records: int
    raw: dict = field(repr=False, compare=False)


@_typed
class CostReport(_Model):
    """What a team spent between ``start`` and ``end`` (exclusive), grouped; amounts in minor units."""

    team: int
    currency: str
    start: datetime | None = field(metadata=WHEN)
    end: datetime | None = field(metadata=WHEN)
    group_by: str
    total: int
    groups: list[CostGroup] = field(metadata=_many(CostGroup))
    raw: dict = field(repr=False, compare=False)


# --- Buckets --------------------------------------------------------------------

@_typed
class Bucket(_Model):
    """An S3 bucket: ``kind`` personal or team; ``state`` provisioning, ready, failed or orphaned; ``url`` is
    its ``s3://`` address (what code in a workspace reads with its own key)."""

    id: int
    name: str
    kind: str
    owner: str | None
    team: str | None
    team_id: int | None
    primary: bool
    state: str
    state_reason: str
    quota_bytes: int | None
    over_quota: bool
    size_bytes: int
    object_count: int
    sampled_at: datetime | None = field(metadata=WHEN)
    url: str
    created: datetime | None = field(metadata=WHEN)
    raw: dict = field(repr=False, compare=False)


@_typed
class BucketObject(_Model):
    """One object of a bucket."""

    key: str
    size: int
    last_modified: datetime | None = field(metadata=WHEN)
    raw: dict = field(repr=False, compare=False)


@_typed
class BucketListing(_Model):
    """One level of a bucket under ``prefix``: its folders (``prefixes``) and ``objects``."""

    prefix: str
    prefixes: list[str]
    objects: list[BucketObject] = field(metadata=_many(BucketObject))
    next_token: str
    raw: dict = field(repr=False, compare=False)


@_typed
class PresignedLink(_Model):
    """A URL the store itself answers (``method`` GET or PUT) for ``expires_in`` seconds; no token needed."""

    url: str = field(repr=False)
    method: str
    expires_in: int
    raw: dict = field(repr=False, compare=False)


@_typed
class S3Credentials(_Model):
    """Your S3 identity: its state and current access key id (never the secret)."""

    state: str
    state_reason: str
    access_key_id: str | None
    key_created: datetime | None = field(metadata=WHEN)
    secret_shown: bool
    rotation_requested: bool
    endpoint_url: str
    region: str
    buckets: list[str]
    raw: dict = field(repr=False, compare=False)


@_typed
class S3Secret(_Model):
    """Your current key with its secret, shown once per key (kept out of ``repr``)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    endpoint_url: str
    region: str
    raw: dict = field(repr=False, compare=False)


@_typed
class StageChange(_Model):
    """One step of a project's timeline: the stage it entered, when, and who moved it."""

    stage: str
    entered: datetime | None = field(metadata=WHEN)
    actor_username: str
    raw: dict = field(repr=False, compare=False)


@_typed
class Project(_Model):
    """A project of a team. ``stage``: define, research, data, poc, poc_service, evaluation or handoff;
    ``timeline`` lists the stages it went through; ``archived`` is set while it is read-only."""

    id: int
    team: str
    team_id: int
    name: str
    slug: str
    description: str
    owners: list[str]
    whole_team: bool
    members: list[str]
    stage: str
    stage_label: str
    timeline: list[StageChange] = field(metadata=_many(StageChange))
    repository_url: str
    board_url: str
    template: str
    archived: datetime | None = field(metadata=WHEN)
    created: datetime | None = field(metadata=WHEN)
    created_by: str
    raw: dict = field(repr=False, compare=False)


@_typed
class ProjectTemplate(_Model):
    """A template projects' files are rendered from (a cookiecutter directory or Git URL)."""

    id: int
    name: str
    source: str
    description: str
    is_default: bool
    created: datetime | None = field(metadata=WHEN)
    created_by: str
    raw: dict = field(repr=False, compare=False)


@_typed
class ProjectBudget(_Model):
    """A project's share of its team's budget, per the team's budget period; amounts in minor units."""

    project: int
    amount: int
    amount_decimal: str
    currency: str
    thresholds: list[int]
    updated: datetime | None = field(metadata=WHEN)
    status: BudgetStatus = field(metadata=_one(BudgetStatus))
    raw: dict = field(repr=False, compare=False)
