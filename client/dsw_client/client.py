"""The platform's API as Python: ``Client().workspaces.create("analysis", size="Small")``.

Each method calls the endpoint written in it (a test reads these paths and compares them with the
platform's OpenAPI schema). Methods that take a workspace, team or profile accept the object, its
id, or its name (a workspace's name, a team's slug, a profile's name).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Callable, Union

from dsw_client.config import credentials_resolve
from dsw_client.errors import NotFound, NotSignedIn, WaitTimeout, WorkspaceFailed
from dsw_client.models import (
    Bucket, BucketListing, Budget, BudgetGrant, CostReport, CreatedToken, Image, LaunchChoices, Me, Membership,
    PresignedLink, PriceSheet, Profile, Project, ProjectBudget, ProjectTemplate, S3Credentials, S3Secret, Team, TeamRole,
    Token, Workspace, WorkspaceEvent,
)
from dsw_client.transport import Transport

WorkspaceRef = Union[Workspace, int, str]
ProjectRef = Union[Project, int, str]
BucketRef = Union[Bucket, int, str]
TeamRef = Union[Team, TeamRole, int, str]
Money = Union[str, Decimal]
When = Union[date, datetime, str]


class Client:
    """One platform, one token.

    ``url`` and ``token`` default to ``DSW_URL`` and ``DSW_TOKEN``, then to what ``dsw login`` saved (that
    token is only ever sent to the URL it was made for). Raises NotSignedIn when either is missing.
    429 and 503 answers are retried ``retries`` times with back-off; lists are fetched ``page_size``
    items a request (at most 200)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0, retries: int = 4,
                 max_retry_wait: float = 30.0, page_size: int = 200):
        credentials = credentials_resolve(url, token)
        if not credentials.url:
            raise NotSignedIn("No platform URL: pass url=…, set DSW_URL, or sign in with "
                              "`dsw login --url URL --username NAME`.")
        if not credentials.token:
            raise NotSignedIn(f"No token for {credentials.url}: sign in with `dsw login --url {credentials.url} "
                              "--username NAME`, or set DSW_TOKEN.")
        self._api = Transport(credentials.url, credentials.token, token_expires=credentials.expires,
                              token_source=credentials.source, timeout=timeout, retries=retries,
                              max_retry_wait=max_retry_wait, page_size=page_size)
        self.url = self._api.url
        self.tokens = Tokens(self._api)
        self.teams = Teams(self._api)
        self.profiles = Profiles(self._api)
        self.workspaces = Workspaces(self._api)
        self.images = Images(self._api)
        self.prices = Prices(self._api)
        self.budgets = Budgets(self._api, self.teams)
        self.costs = Costs(self._api, self.teams)
        self.buckets = Buckets(self._api, self.teams)
        self.projects = Projects(self._api)
        self.shares = Shares(self._api)
        self.builds = Builds(self._api)

    def __repr__(self):
        return f"Client({self.url!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._api.close()

    @staticmethod
    def login(url: str, username: str, password: str, *, token_name: str = "dsw", expires_in_days: int | None = None,
              scope: str = "write", **options) -> tuple[Client, CreatedToken]:
        """Exchange a username and password for a new personal access token; returns a client that uses
        it, and the token (its secret is in ``.token``, shown only this once). Token creation is rate
        limited per person by the platform (10 a minute by default). Nothing is saved: ``dsw login`` does that."""
        transport = Transport(url, None, **{k: v for k, v in options.items() if k in ("timeout", "retries", "max_retry_wait")})
        try:
            body = transport.post("/api/v1/auth/token/", json=_given(username=username, password=password, name=token_name,
                                                                     expires_in_days=expires_in_days, scope=scope))
        finally:
            transport.close()
        created = CreatedToken.from_api(body)
        return Client(transport.url, created.token, **options), created

    def me(self) -> Me:
        """Your account and your teams, with your role in each."""
        return Me.from_api(self._api.get("/api/v1/users/me/"))

    def update_me(self, *, first_name: str | None = None, last_name: str | None = None, email: str | None = None,
                  current_password: str | None = None) -> Me:
        """Change your name or e-mail (a new e-mail needs ``current_password``)."""
        return Me.from_api(self._api.patch("/api/v1/users/me/", json=_given(
            first_name=first_name, last_name=last_name, email=email, current_password=current_password)))


def _given(**values):
    """The keyword arguments that were given (None means "leave it to the platform")."""
    return {name: value for name, value in values.items() if value is not None}


def _text(value):
    return str(value) if isinstance(value, Decimal) else value


def _iso(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


class _Resource:
    def __init__(self, api: Transport):
        self._api = api


class Tokens(_Resource):
    """Your personal access tokens."""

    def list(self) -> list[Token]:
        return [Token.from_api(item) for item in self._api.paginate("/api/v1/tokens/")]

    def get(self, token: Token | int) -> Token:
        return Token.from_api(self._api.get("/api/v1/tokens/{id}/", id=_pk(token)))

    def create(self, name: str, *, expires_in_days: int | None = None, scope: str = "write") -> CreatedToken:
        """A new token (``scope``: "write" or "read"); the secret is in ``.token``, shown only this once.
        A read token cannot create tokens."""
        return CreatedToken.from_api(self._api.post("/api/v1/tokens/", json=_given(
            name=name, expires_in_days=expires_in_days, scope=scope)))

    def revoke(self, token: Token | CreatedToken | int) -> None:
        """Revoke a token: it stops working at once. Idempotent."""
        self._api.delete("/api/v1/tokens/{id}/", id=_pk(token))


def _pk(thing) -> int:
    return thing if isinstance(thing, int) else thing.id


class Teams(_Resource):
    """Your teams (platform admins: every team) and their members."""

    def list(self) -> list[Team]:
        return [Team.from_api(item) for item in self._api.paginate("/api/v1/teams/")]

    def id_of(self, team: TeamRef) -> int:
        """A team's id from the team, its id or its slug (NotFound for a slug you cannot see)."""
        if isinstance(team, (Team, TeamRole)):
            return team.id
        if isinstance(team, int):
            return team
        for candidate in self.list():
            if candidate.slug == team:
                return candidate.id
        raise NotFound(f"You are in no team {team!r}.", status=404, detail="Not found.")

    def get(self, team: TeamRef) -> Team:
        return Team.from_api(self._api.get("/api/v1/teams/{team_id}/", team_id=self.id_of(team)))

    def create(self, name: str, *, slug: str | None = None, description: str | None = None) -> Team:
        """Platform admins."""
        return Team.from_api(self._api.post("/api/v1/teams/", json=_given(name=name, slug=slug, description=description)))

    def update(self, team: TeamRef, *, name: str | None = None, description: str | None = None) -> Team:
        """Team admins and platform admins."""
        return Team.from_api(self._api.patch("/api/v1/teams/{team_id}/", team_id=self.id_of(team),
                                             json=_given(name=name, description=description)))

    def delete(self, team: TeamRef) -> None:
        """Platform admins; refused while workspaces (or their history) belong to the team."""
        self._api.delete("/api/v1/teams/{team_id}/", team_id=self.id_of(team))

    def members(self, team: TeamRef) -> list[Membership]:
        return [Membership.from_api(item) for item in
                self._api.paginate("/api/v1/teams/{team_id}/members/", team_id=self.id_of(team))]

    def member(self, team: TeamRef, username: str) -> Membership:
        return Membership.from_api(self._api.get("/api/v1/teams/{team_id}/members/{username}/",
                                                 team_id=self.id_of(team), username=username))

    def add_member(self, team: TeamRef, username: str, *, role: str = "member") -> Membership:
        """Team admins and platform admins; ``role``: member or admin."""
        return Membership.from_api(self._api.post("/api/v1/teams/{team_id}/members/", team_id=self.id_of(team),
                                                  json={"username": username, "role": role}))

    def set_role(self, team: TeamRef, username: str, role: str) -> Membership:
        return Membership.from_api(self._api.patch("/api/v1/teams/{team_id}/members/{username}/",
                                                   team_id=self.id_of(team), username=username, json={"role": role}))

    def remove_member(self, team: TeamRef, username: str) -> None:
        """Team admins and platform admins, or the member themself (leaving)."""
        self._api.delete("/api/v1/teams/{team_id}/members/{username}/", team_id=self.id_of(team), username=username)


class Profiles(_Resource):
    """Sizes (profiles) to launch workspaces with."""

    def list(self, *, all: bool = False) -> list[Profile]:  # noqa: A002  (the API's own name)
        """The sizes you may launch (``all=True``: platform admins see every profile)."""
        return [Profile.from_api(item) for item in
                self._api.paginate("/api/v1/profiles/", params={"all": "true" if all else None})]

    def get(self, profile: Profile | int) -> Profile:
        return Profile.from_api(self._api.get("/api/v1/profiles/{id}/", id=_pk(profile)))

    def create(self, **fields) -> Profile:
        """Platform admins. ``fields`` as in the API: name, cpu, memory ("4G"), and optionally gpus, gpu_type,
        disk, idle_timeout_minutes, max_age_hours, enabled, all_teams, teams ([slug])."""
        return Profile.from_api(self._api.post("/api/v1/profiles/", json=fields))

    def replace(self, profile: Profile | int, **fields) -> Profile:
        """Platform admins: replace every setting of a profile (the API's PUT; fields left out get their defaults)."""
        return Profile.from_api(self._api.put("/api/v1/profiles/{id}/", id=_pk(profile), json=fields))


class Workspaces(_Resource):
    """Your workspaces. Requests answer at once; ``wait_until_running`` follows a workspace until it runs."""

    def list(self) -> list[Workspace]:
        return [Workspace.from_api(item) for item in self._api.paginate("/api/v1/workspaces/")]

    def find(self, name: str) -> Workspace:
        """Your live workspace named ``name`` (NotFound when there is none)."""
        for workspace in self.list():
            if workspace.name == name:
                return workspace
        raise NotFound(f"You have no workspace named {name!r}.", status=404, detail="Not found.")

    def id_of(self, workspace: WorkspaceRef) -> int:
        if isinstance(workspace, Workspace):
            return workspace.id
        if isinstance(workspace, int):
            return workspace
        return self.find(workspace).id

    def get(self, workspace: WorkspaceRef) -> Workspace:
        return Workspace.from_api(self._api.get("/api/v1/workspaces/{id}/", id=self.id_of(workspace)))

    def create(self, name: str, size: Profile | int | str, *, image: str | None = None,
               team: TeamRef | None = None, project: ProjectRef | None = None,
               project_files: bool | None = None) -> Workspace:
        """Create a workspace and ask for it to start; returns at once (status pending).

        ``size``: a profile, its id or its name (any case). ``image``: a catalog reference (default: the
        recommended one). ``team``: needed only when you are in several teams. ``project``: a project of the
        team to work in and charge (the project, its id, slug or team/slug); ``project_files``: write the
        project's template files into the home once it runs."""
        profile = size.id if isinstance(size, Profile) else size
        team_slug = team.slug if isinstance(team, (Team, TeamRole)) else team
        project_ref = project.id if isinstance(project, Project) else project
        return Workspace.from_api(self._api.post("/api/v1/workspaces/", json=_given(
            name=name, profile=profile, image=image, team=team_slug, project=project_ref, project_files=project_files)))

    def add_project_files(self, workspace: WorkspaceRef, *, template: str | None = None,
                          project: ProjectRef | None = None) -> Workspace:
        """Write a project's template files into the running workspace (``~/<project slug>/``, committed with
        git); ``project`` only for a workspace in no project. Returns at once; a `project_files` event follows."""
        project_ref = project.id if isinstance(project, Project) else project
        return Workspace.from_api(self._api.post("/api/v1/workspaces/{id}/project-files/", id=self.id_of(workspace),
                                                 json=_given(template=template, project=project_ref)))

    def start(self, workspace: WorkspaceRef) -> Workspace:
        """Start a stopped or failed workspace (idempotent)."""
        return Workspace.from_api(self._api.post("/api/v1/workspaces/{id}/start/", id=self.id_of(workspace)))

    def stop(self, workspace: WorkspaceRef) -> Workspace:
        """Stop it; its files are kept (idempotent)."""
        return Workspace.from_api(self._api.post("/api/v1/workspaces/{id}/stop/", id=self.id_of(workspace)))

    def restart(self, workspace: WorkspaceRef) -> Workspace:
        """Stop the server and start a fresh one."""
        return Workspace.from_api(self._api.post("/api/v1/workspaces/{id}/restart/", id=self.id_of(workspace)))

    def delete(self, workspace: WorkspaceRef, *, delete_home: bool = False) -> Workspace:
        """Stop and forget the workspace. Its home (every file in it) is deleted too only with ``delete_home``."""
        return Workspace.from_api(self._api.delete("/api/v1/workspaces/{id}/", id=self.id_of(workspace),
                                                   params={"delete_home": "true" if delete_home else None}))

    def keep_running(self, workspace: WorkspaceRef) -> Workspace:
        """Postpone a pending automatic stop, once per run (Conflict when none is pending or it was used)."""
        return Workspace.from_api(self._api.post("/api/v1/workspaces/{id}/keep-running/", id=self.id_of(workspace)))

    def events(self, workspace: WorkspaceRef) -> list[WorkspaceEvent]:
        """The workspace's lifecycle history, oldest first."""
        return [WorkspaceEvent.from_api(item) for item in
                self._api.paginate("/api/v1/workspaces/{id}/events/", id=self.id_of(workspace))]

    def _events_after(self, workspace_id: int, seen: int) -> tuple[list[WorkspaceEvent], int]:
        """The events after the first ``seen`` (oldest first), read from the page that holds them, and the new count."""
        size = self._api.page_size
        page, skip, new = seen // size + 1, seen % size, []
        while True:
            body = self._api.get("/api/v1/workspaces/{id}/events/", id=workspace_id,
                                 params={"page": page, "page_size": size})
            new += [WorkspaceEvent.from_api(item) for item in body["results"][skip:]]
            if not body.get("next"):
                return new, seen + len(new)
            page, skip = page + 1, 0

    def wait_until_running(self, workspace: WorkspaceRef, *, timeout: float = 600.0, interval: float = 0.5,
                           on_progress: Callable[[Workspace, list[WorkspaceEvent]], None] | None = None) -> Workspace:
        """Follow the workspace until it runs, and return it (its ``url`` is where JupyterLab answers).

        ``on_progress(workspace, new_events)`` is called first and then whenever its status, progress or
        message changes, with the lifecycle events recorded since the last call. Raises WorkspaceFailed
        when it fails or is stopped instead, WaitTimeout after ``timeout`` seconds."""
        return self._wait(workspace, "running", timeout=timeout, interval=interval, on_progress=on_progress)

    def wait_until_stopped(self, workspace: WorkspaceRef, *, timeout: float = 300.0, interval: float = 0.5,
                           on_progress: Callable[[Workspace, list[WorkspaceEvent]], None] | None = None) -> Workspace:
        """Follow the workspace until its server is gone (stopped, or failed); returns it. WaitTimeout after ``timeout``."""
        return self._wait(workspace, "stopped", timeout=timeout, interval=interval, on_progress=on_progress)

    def _wait(self, workspace, wanted, *, timeout, interval, on_progress):
        workspace_id = self.id_of(workspace)
        deadline = time.monotonic() + timeout
        # History before the wait is not news: start after the events there are now.
        seen = self._api.get("/api/v1/workspaces/{id}/events/", id=workspace_id, params={"page_size": 1})["count"]
        last = None
        while True:
            current = self.get(workspace_id)
            state = (current.status, current.progress, current.status_message)
            if state != last:
                events, seen = self._events_after(workspace_id, seen)
                if on_progress is not None:
                    on_progress(current, events)
                last = state
            if wanted == "running":
                if current.status == "running" and current.url:
                    return current
                if current.status in ("failed", "stopped"):
                    reason = f" ({current.failure_reason})" if current.failure_reason else ""
                    raise WorkspaceFailed(f"Workspace {current.name!r} is {current.status}{reason}: "
                                          f"{current.status_message or 'no reason given'}", workspace=current)
            elif current.status in ("stopped", "failed"):
                return current
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeout(f"Workspace {current.name!r} is still {current.status} after {timeout:g} s "
                                  f"({current.status_message or 'no message'}).", workspace=current)
            time.sleep(min(interval, left))


class Images(_Resource):
    """The image catalog."""

    def list(self, *, namespace: str | None = None, status: str | None = None, package: str | None = None,
             q: str | None = None) -> list[Image]:
        """The entries you may see. ``package``: only images whose SBOM lists it ("numpy", "numpy==2.1.0");
        ``q``: text in the reference or title; ``namespace``: platform, team, user or local;
        ``status``: new, approved, deprecated or retired."""
        return [Image.from_api(item) for item in self._api.paginate(
            "/api/v1/images/", params={"namespace": namespace, "status": status, "package": package, "q": q})]

    def get(self, image: Image | int) -> Image:
        """One entry; its ``raw`` also has the repository's other ``tags``, ``digests``, ``findings`` and ``packages``."""
        return Image.from_api(self._api.get("/api/v1/images/{id}/", id=_pk(image)))

    def choices(self, *, team: str | None = None) -> LaunchChoices:
        """What you may launch from (for ``team``, when you are in several)."""
        return LaunchChoices.from_api(self._api.get("/api/v1/images/choices/", params={"team": team}))

    def approve(self, image: Image | int, *, all_teams: bool | None = None, teams: list[str] | None = None,
                recommended: bool | None = None) -> Image:
        """Platform admins, or team admins for ``teams/<team>/`` images."""
        return Image.from_api(self._api.post("/api/v1/images/{id}/approve/", id=_pk(image), json=_given(
            all_teams=all_teams, teams=teams, recommended=recommended)))

    def deprecate(self, image: Image | int, *, replacement: str | None = None, message: str | None = None) -> Image:
        """Launches of a deprecated image run ``replacement`` (an id or reference) and show ``message``."""
        return Image.from_api(self._api.post("/api/v1/images/{id}/deprecate/", id=_pk(image), json=_given(
            replacement=replacement, message=message)))

    def retire(self, image: Image | int) -> Image:
        """Hide it from launches; workspaces pinned to it keep working."""
        return Image.from_api(self._api.post("/api/v1/images/{id}/retire/", id=_pk(image)))


class Builds(_Resource):
    """Image builds: your own image from a folder of a running workspace (requirements.txt, environment.yml,
    postBuild). Answers are the API's JSON objects (dicts); docs/user-guide.md says what each field means."""

    def list(self) -> list[dict]:
        """Your builds, newest first (platform admins: everyone's)."""
        return list(self._api.paginate("/api/v1/images/builds/"))

    def get(self, build: int) -> dict:
        return self._api.get("/api/v1/images/builds/{id}/", id=build)

    def create(self, workspace: int, base: str, name: str, *, folder: str | None = None, team: str | None = None) -> dict:
        """Build ``folder`` of your running ``workspace`` FROM the catalog image ``base`` into users/<you>/<name> (or
        teams/<team>/<name> for a team admin). 202: the build, queued; follow it with ``log`` or ``wait``."""
        return self._api.post("/api/v1/images/builds/", json=_given(workspace=workspace, base=base, name=name,
                                                                      folder=folder, team=team))

    def log(self, build: int, *, offset: int = 0) -> dict:
        """{"text": the log from ``offset``, "offset": where to ask next, "state", "step", "error", "done"}."""
        return self._api.get("/api/v1/images/builds/{id}/log/", id=build, params={"offset": offset})

    def cancel(self, build: int) -> dict:
        return self._api.post("/api/v1/images/builds/{id}/cancel/", id=build)

    def propose(self, build: int, team: str) -> dict:
        """Copy a finished custom image into teams/<team>/…, where a team admin approves it."""
        return self._api.post("/api/v1/images/builds/{id}/propose/", id=build, json={"team": team})

    def wait(self, build: int, *, timeout: float = 3600.0, interval: float = 1.0, on_log=None) -> dict:
        """Follow the log (each new piece to ``on_log``) until the build ends; the build. TimeoutError after ``timeout``."""
        deadline, offset = time.monotonic() + timeout, 0
        while True:
            piece = self.log(build, offset=offset)
            if piece["text"] and on_log is not None:
                on_log(piece["text"])
            offset = piece["offset"]
            if piece["done"]:
                return self.get(build)
            if time.monotonic() > deadline:
                raise TimeoutError(f"build {build} is still {piece['state']} after {timeout:.0f} s")
            time.sleep(interval)


class Prices(_Resource):
    """Versioned prices (minor units, with ``_decimal`` twins in currency units)."""

    def list(self) -> list[PriceSheet]:
        return [PriceSheet.from_api(item) for item in self._api.paginate("/api/v1/prices/")]

    def current(self) -> PriceSheet:
        """The version in force (NotFound before the first)."""
        return PriceSheet.from_api(self._api.get("/api/v1/prices/current/"))

    def create(self, **fields) -> PriceSheet:
        """Platform admins. ``fields`` as in the API, e.g. ``cpu_core_hour_decimal="0.10"``,
        ``memory_gib_hour_decimal="0.05"``, ``storage_gib_month_decimal="0.73"``, ``effective_from``."""
        return PriceSheet.from_api(self._api.post("/api/v1/prices/", json={
            name: _iso(_text(value)) for name, value in fields.items()}))


class Budgets(_Resource):
    """Team budgets: team admins and platform admins read them, platform admins set them."""

    def __init__(self, api: Transport, teams: Teams):
        super().__init__(api)
        self._teams = teams

    def get(self, team: TeamRef) -> Budget:
        """NotFound when the team has no budget; NotAllowed for its members who are not admins."""
        return Budget.from_api(self._api.get("/api/v1/teams/{team_id}/budget/", team_id=self._teams.id_of(team)))

    def set(self, team: TeamRef, *, amount: int | None = None, amount_decimal: Money | None = None,
            action: str | None = None, thresholds: list[int] | None = None, grace_minutes: int | None = None,
            period_start_day: int | None = None, time_zone: str | None = None) -> Budget:
        """Set a team's budget (platform admins). ``amount`` in minor units or ``amount_decimal`` in currency units
        ("500.00"); ``action`` at 100 %: notify, block_launches or stop_workspaces.

        Settings left out keep their current values: the API replaces a budget whole, so this reads it
        first (a team without a budget gets the API's defaults)."""
        team_id = self._teams.id_of(team)
        settings = _given(amount=amount, amount_decimal=_text(amount_decimal), action=action, thresholds=thresholds,
                          grace_minutes=grace_minutes, period_start_day=period_start_day, time_zone=time_zone)
        try:
            current = self.get(team_id)
        except NotFound:
            current = None
        if current is not None:
            kept = {"action": current.action, "thresholds": current.thresholds, "grace_minutes": current.grace_minutes,
                    "period_start_day": current.period_start_day, "time_zone": current.time_zone,
                    "currency": current.currency}
            if amount is None and amount_decimal is None:
                kept["amount"] = current.amount
            settings = {**kept, **settings}
        return Budget.from_api(self._api.put("/api/v1/teams/{team_id}/budget/", team_id=team_id, json=settings))

    def grants(self, team: TeamRef) -> list[BudgetGrant]:
        """Time-boxed increases, past, present and to come."""
        return [BudgetGrant.from_api(item) for item in
                self._api.get("/api/v1/teams/{team_id}/budget/grants/", team_id=self._teams.id_of(team))]

    def grant(self, team: TeamRef, *, ends: When, reason: str, amount: int | None = None,
              amount_decimal: Money | None = None, starts: When | None = None) -> BudgetGrant:
        """Platform admins: add to the limit until ``ends``."""
        return BudgetGrant.from_api(self._api.post(
            "/api/v1/teams/{team_id}/budget/grants/", team_id=self._teams.id_of(team), json=_given(
                amount=amount, amount_decimal=_text(amount_decimal), ends=_iso(ends), starts=_iso(starts), reason=reason)))


class Costs(_Resource):
    """What teams spent (team admins and platform admins)."""

    def __init__(self, api: Transport, teams: Teams):
        super().__init__(api)
        self._teams = teams

    def report(self, team: TeamRef, *, group_by: str = "user", start: When | None = None,
               end: When | None = None) -> CostReport:
        """Spend between ``start`` and ``end`` (exclusive; dates are midnight in the team's time zone; default:
        the current budget period), grouped by user, profile, image, day or workspace; minor units."""
        return CostReport.from_api(self._api.get("/api/v1/teams/{team_id}/costs/", team_id=self._teams.id_of(team),
                                                 params=_query(group_by, start, end)))

    def csv(self, team: TeamRef, *, group_by: str = "user", start: When | None = None, end: When | None = None) -> str:
        """The same report as the platform's CSV (amounts in currency units)."""
        return self._api.get("/api/v1/teams/{team_id}/costs/export/", team_id=self._teams.id_of(team),
                             params=_query(group_by, start, end), text=True)


class Projects(_Resource):
    """Your teams' projects: the lifecycle stage, archive, their costs and budget, and project templates."""

    def list(self, *, team: str | None = None, archived: bool | None = None) -> list[Project]:
        params = _given(team=team, archived=None if archived is None else str(archived).lower())
        return [Project.from_api(item) for item in self._api.paginate("/api/v1/projects/", params=params)]

    def id_of(self, project: ProjectRef) -> int:
        """A project's id from the project, its id, its slug (when only one of your teams has it) or team/slug."""
        if isinstance(project, Project):
            return project.id
        if isinstance(project, int):
            return project
        team, _, slug = project.rpartition("/")
        found = [p for p in self.list(team=team or None) if p.slug == slug]
        if len(found) != 1:
            raise NotFound(f"No single project {project!r} among yours" + (" (give team/slug)." if found else "."),
                           status=404, detail="Not found.")
        return found[0].id

    def get(self, project: ProjectRef) -> Project:
        return Project.from_api(self._api.get("/api/v1/projects/{id}/", id=self.id_of(project)))

    def create(self, team: TeamRef, name: str, *, slug: str | None = None, description: str | None = None,
               owners: list[str] | None = None, members: list[str] | None = None, whole_team: bool | None = None,
               stage: str | None = None, repository_url: str | None = None, board_url: str | None = None) -> Project:
        """Create a project in a team you belong to (``team``: the team, its id or slug); you own it unless
        ``owners`` says otherwise."""
        team_ref = team.id if isinstance(team, (Team, TeamRole)) else team
        return Project.from_api(self._api.post("/api/v1/projects/", json=_given(
            team=team_ref, name=name, slug=slug, description=description, owners=owners, members=members,
            whole_team=whole_team, stage=stage, repository_url=repository_url, board_url=board_url)))

    def update(self, project: ProjectRef, **fields) -> Project:
        """Change name, description, owners, members, whole_team, repository_url or board_url (owners, team admins)."""
        return Project.from_api(self._api.patch("/api/v1/projects/{id}/", id=self.id_of(project), json=fields))

    def set_stage(self, project: ProjectRef, stage: str) -> Project:
        return Project.from_api(self._api.post("/api/v1/projects/{id}/stage/", id=self.id_of(project),
                                               json={"stage": stage}))

    def archive(self, project: ProjectRef) -> Project:
        return Project.from_api(self._api.post("/api/v1/projects/{id}/archive/", id=self.id_of(project)))

    def restore(self, project: ProjectRef) -> Project:
        return Project.from_api(self._api.post("/api/v1/projects/{id}/restore/", id=self.id_of(project)))

    def costs(self, project: ProjectRef, *, group_by: str = "user", start: When | None = None,
              end: When | None = None) -> CostReport:
        """What the project's workspaces cost (owners, team admins); as the team report."""
        return CostReport.from_api(self._api.get("/api/v1/projects/{id}/costs/", id=self.id_of(project),
                                                 params=_query(group_by, start, end)))

    def costs_csv(self, project: ProjectRef, *, group_by: str = "user", start: When | None = None,
                  end: When | None = None) -> str:
        return self._api.get("/api/v1/projects/{id}/costs/export/", id=self.id_of(project),
                             params=_query(group_by, start, end), text=True)

    def budget(self, project: ProjectRef) -> ProjectBudget:
        """NotFound when the project has no budget."""
        return ProjectBudget.from_api(self._api.get("/api/v1/projects/{id}/budget/", id=self.id_of(project)))

    def set_budget(self, project: ProjectRef, *, amount: int | None = None, amount_decimal: Money | None = None,
                   thresholds: list[int] | None = None) -> ProjectBudget:
        """Team admins and platform admins: the project's share of its team's budget."""
        return ProjectBudget.from_api(self._api.put("/api/v1/projects/{id}/budget/", id=self.id_of(project), json=_given(
            amount=amount, amount_decimal=_text(amount_decimal), thresholds=thresholds)))

    def remove_budget(self, project: ProjectRef) -> None:
        self._api.delete("/api/v1/projects/{id}/budget/", id=self.id_of(project))

    def templates(self) -> list[ProjectTemplate]:
        return [ProjectTemplate.from_api(item) for item in self._api.get("/api/v1/project-templates/")]

    def default_template(self) -> str:
        return self._api.get("/api/v1/project-templates/default/")["template"]

    def set_default_template(self, name: str) -> str:
        """Platform admins: the template new project files come from (``dslp``: the built-in one)."""
        return self._api.put("/api/v1/project-templates/default/", json={"template": name})["template"]

    def register_template(self, name: str, source: str, *, description: str | None = None,
                          is_default: bool | None = None) -> ProjectTemplate:
        """Platform admins: a cookiecutter directory on the platform or a Git URL it can reach."""
        return ProjectTemplate.from_api(self._api.post("/api/v1/project-templates/", json=_given(
            name=name, source=source, description=description, is_default=is_default)))


class Shares(_Resource):
    """Published notebooks (versions, who sees them, secret links, diffs, copies) and live workspace shares.
    Answers are the API's JSON objects (dicts); docs/user-guide.md#sharing-notebooks says what each field means."""

    def notebooks(self) -> list[dict]:
        """Notebooks you published and those shared with you."""
        return list(self._api.paginate("/api/v1/shares/notebooks/"))

    def shared_with_me(self) -> dict:
        """{"notebooks": [...], "workspaces": [...]}: what others shared with you."""
        return self._api.get("/api/v1/shares/shared-with-me/")

    def files(self, workspace: int, *, path: str | None = None) -> list[dict]:
        """Folders and notebooks of your running workspace (the file picker)."""
        return self._api.get("/api/v1/shares/workspaces/{workspace_id}/files/", workspace_id=workspace,
                             params=_given(path=path))

    def publish(self, workspace: int, path: str, *, message: str | None = None, title: str | None = None,
                attachments: list[str] | None = None) -> dict:
        """Snapshot a notebook of your running workspace as the next version (202: poll ``snapshot``), with the small
        files ``attachments`` names (relative to the notebook's folder)."""
        return self._api.post("/api/v1/shares/notebooks/", json=_given(workspace=workspace, path=path, message=message,
                                                                         title=title, attachments=attachments))

    def snapshot(self, snapshot_id: int) -> dict:
        return self._api.get("/api/v1/shares/snapshots/{snapshot_id}/", snapshot_id=snapshot_id)

    def retry_snapshot(self, snapshot_id: int) -> dict:
        return self._api.post("/api/v1/shares/snapshots/{snapshot_id}/retry/", snapshot_id=snapshot_id)

    def get(self, notebook: int) -> dict:
        return self._api.get("/api/v1/shares/notebooks/{id}/", id=notebook)

    def update(self, notebook: int, *, title: str | None = None, everyone_role: str | None = None) -> dict:
        """Owners: the title, or what everyone on the platform may do ("", "view" or "copy")."""
        return self._api.patch("/api/v1/shares/notebooks/{id}/", id=notebook,
                               json=_given(title=title, everyone_role=everyone_role))

    def delete(self, notebook: int) -> None:
        self._api.delete("/api/v1/shares/notebooks/{id}/", id=notebook)

    def versions(self, notebook: int) -> list[dict]:
        return list(self._api.paginate("/api/v1/shares/notebooks/{id}/versions/", id=notebook))

    def download(self, notebook: int, version: int) -> str:
        """A version's .ipynb, as published (JSON text)."""
        return self._api.get("/api/v1/shares/notebooks/{id}/versions/{number}/download/", id=notebook, number=version,
                             binary=True).decode("utf-8")

    def download_file(self, notebook: int, version: int, path: str) -> bytes:
        """A file attached to a version (``path`` as the version's ``files`` list it)."""
        return self._api.get("/api/v1/shares/notebooks/{id}/versions/{number}/files/{file_path}", id=notebook,
                             number=version, file_path=path, binary=True)

    def diff(self, notebook: int, base: int, remote: int) -> dict:
        """Cell-level changes from version ``base`` to ``remote``."""
        return self._api.get("/api/v1/shares/notebooks/{id}/diff/", id=notebook, params={"base": base, "remote": remote})

    def grants(self, notebook: int) -> list[dict]:
        return self._api.get("/api/v1/shares/notebooks/{id}/grants/", id=notebook)

    def grant(self, notebook: int, *, username: str | None = None, team: str | None = None,
              role: str | None = None) -> dict:
        """Share with a person or a team ("view" or "copy"); they get an e-mail."""
        return self._api.post("/api/v1/shares/notebooks/{id}/grants/", id=notebook,
                              json=_given(username=username, team=team, role=role))

    def change_grant(self, notebook: int, grant_id: int, role: str) -> dict:
        return self._api.patch("/api/v1/shares/notebooks/{id}/grants/{grant_id}/", id=notebook, grant_id=grant_id,
                               json={"role": role})

    def revoke_grant(self, notebook: int, grant_id: int) -> None:
        self._api.delete("/api/v1/shares/notebooks/{id}/grants/{grant_id}/", id=notebook, grant_id=grant_id)

    def links(self, notebook: int) -> list[dict]:
        return self._api.get("/api/v1/shares/notebooks/{id}/links/", id=notebook)

    def create_link(self, notebook: int, *, expires_in_days: int | None = None) -> dict:
        """A secret link (its URL is in the answer, shown only this once)."""
        return self._api.post("/api/v1/shares/notebooks/{id}/links/", id=notebook,
                              json=_given(expires_in_days=expires_in_days))

    def revoke_link(self, notebook: int, link_id: int) -> None:
        self._api.delete("/api/v1/shares/notebooks/{id}/links/{link_id}/", id=notebook, link_id=link_id)

    def copy(self, notebook: int, workspace: int, *, version: int | None = None) -> dict:
        """Write a version (default: the latest) into your running workspace, never overwriting (202: poll ``copy_status``)."""
        return self._api.post("/api/v1/shares/notebooks/{id}/copies/", id=notebook,
                              json=_given(workspace=workspace, version=version))

    def copy_status(self, copy_id: int) -> dict:
        return self._api.get("/api/v1/shares/copies/{copy_id}/", copy_id=copy_id)

    def live(self) -> list[dict]:
        """Live shares of your workspaces."""
        return self._api.get("/api/v1/shares/live/")

    def share_live(self, workspace: int, *, username: str | None = None, team: str | None = None,
                   expires: When | None = None) -> list[dict]:
        """Let a person (or each member of a team) open your running workspace, optionally until ``expires``."""
        return self._api.post("/api/v1/shares/live/", json=_given(workspace=workspace, username=username, team=team,
                                                                 expires=_iso(expires)))

    def revoke_live(self, share_id: int) -> None:
        self._api.delete("/api/v1/shares/live/{share_id}/", share_id=share_id)


def _query(group_by, start, end):
    return {"group_by": group_by, "start": _iso(start), "end": _iso(end)}


class Buckets(_Resource):
    """S3 buckets: yours and your teams' (platform admins see every bucket), their objects through presigned
    links, and your own S3 key."""

    def __init__(self, api: Transport, teams: Teams):
        super().__init__(api)
        self._teams = teams

    def list(self) -> list[Bucket]:
        return [Bucket.from_api(item) for item in self._api.paginate("/api/v1/buckets/")]

    def id_of(self, bucket: BucketRef) -> int:
        """A bucket's id from the bucket, its id or its name."""
        if isinstance(bucket, Bucket):
            return bucket.id
        if isinstance(bucket, int):
            return bucket
        for candidate in self.list():
            if candidate.name == bucket:
                return candidate.id
        raise NotFound(f"You have no bucket named {bucket!r}.", status=404, detail="Not found.")

    def get(self, bucket: BucketRef) -> Bucket:
        return Bucket.from_api(self._api.get("/api/v1/buckets/{id}/", id=self.id_of(bucket)))

    def of_team(self, team: TeamRef) -> list[Bucket]:
        """A team's buckets (its members; platform admins)."""
        return [Bucket.from_api(item) for item in
                self._api.get("/api/v1/teams/{team_id}/buckets/", team_id=self._teams.id_of(team))]

    def create_for_team(self, team: TeamRef, name: str, *, quota_bytes: int | None = None) -> Bucket:
        """Platform admins: another bucket for a team (``name`` is the part after <prefix>-t-<team>-)."""
        return Bucket.from_api(self._api.post("/api/v1/teams/{team_id}/buckets/", team_id=self._teams.id_of(team),
                                              json={"name": name, "quota_bytes": quota_bytes}))

    def set_quota(self, bucket: BucketRef, quota_bytes: int | None) -> Bucket:
        """Platform admins: the quota in bytes (at least 1 MiB), or None for none."""
        return Bucket.from_api(self._api.put("/api/v1/buckets/{id}/quota/", id=self.id_of(bucket),
                                             json={"quota_bytes": quota_bytes}))

    def browse(self, bucket: BucketRef, prefix: str = "") -> BucketListing:
        """One level of the bucket under ``prefix`` ("in/"): every page of it, merged."""
        bucket_id, token, prefixes, objects, body = self.id_of(bucket), "", [], [], {}
        while True:
            body = self._api.get("/api/v1/buckets/{id}/objects/", id=bucket_id, params={"prefix": prefix, "token": token or None})
            prefixes += body["prefixes"]
            objects += body["objects"]
            token = body.get("next_token")
            if not token:
                return BucketListing.from_api({**body, "prefixes": prefixes, "objects": objects, "next_token": ""})

    def download_link(self, bucket: BucketRef, key: str) -> PresignedLink:
        """A URL that GETs the object from the store directly, for a while (no token needed: share with care)."""
        return PresignedLink.from_api(self._api.post("/api/v1/buckets/{id}/download-link/", id=self.id_of(bucket),
                                                     json={"key": key}))

    def upload_link(self, bucket: BucketRef, key: str) -> PresignedLink:
        """A URL that PUTs the object into the store directly (``curl -T file "<url>"``), for a while."""
        return PresignedLink.from_api(self._api.post("/api/v1/buckets/{id}/upload-link/", id=self.id_of(bucket),
                                                     json={"key": key}))

    def upload(self, bucket: BucketRef, key: str, source) -> None:
        """Put a file (a path, or a binary file object) into the bucket as ``key``, through an upload link."""
        link = self.upload_link(bucket, key)
        if hasattr(source, "read"):
            self._api.elsewhere(link.method, link.url, data=source)
            return
        with Path(source).open("rb") as handle:
            self._api.elsewhere(link.method, link.url, data=handle)

    def download(self, bucket: BucketRef, key: str, target) -> None:
        """Write the object ``key`` to ``target`` (a path, or a binary file object), through a download link."""
        link = self.download_link(bucket, key)
        if hasattr(target, "write"):
            self._api.elsewhere(link.method, link.url, into=target)
            return
        # Written beside the target and renamed once whole: a failed download leaves no file, nor half of one.
        target = Path(target)
        partial = target.with_name(f".{target.name}.part")
        try:
            with partial.open("wb") as handle:
                self._api.elsewhere(link.method, link.url, into=handle)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)

    def credentials(self) -> S3Credentials:
        """Your S3 identity's state and current access key id (never the secret)."""
        return S3Credentials.from_api(self._api.get("/api/v1/users/me/s3-credentials/"))

    def reveal_credentials(self) -> S3Secret:
        """Your current key's secret: once per key (BadInput after that; rotate for a new one)."""
        return S3Secret.from_api(self._api.post("/api/v1/users/me/s3-credentials/reveal/"))

    def rotate_credentials(self) -> S3Credentials:
        """Ask for a new key; the old one keeps working for a grace period."""
        return S3Credentials.from_api(self._api.post("/api/v1/users/me/s3-credentials/rotate/"))

