"""``dsw``: the platform from a terminal or a script.

Human tables by default, ``--json`` for scripts (the API's objects as they are), one-line errors and
exit codes by meaning (see ``Exit``). Progress goes to standard error, results to standard output.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sys
from datetime import datetime
from decimal import Decimal

import click

from dsw_client import __version__
from dsw_client.errors import (
    ApiError, BadInput, Conflict, DswError, NotAllowed, NotFound, NotSignedIn, NotThePlatform, PlatformUnreachable,
    RateLimited, ServerError, TokenRefused, WaitTimeout, WorkspaceFailed,
)


class Exit(enum.IntEnum):
    """Exit codes a script can branch on."""

    OK = 0
    FAILED = 1  # it did not happen: the workspace failed, a wait timed out, it is not running
    BAD_INPUT = 2  # a wrong option or argument, or the API's 400 naming the field
    NOT_SIGNED_IN = 3  # no token, a wrong password, or the token was refused (invalid, expired, revoked)
    NOT_FOUND = 4
    NOT_ALLOWED = 5
    TRY_AGAIN = 6  # a conflicting change at the same moment, or too many requests
    SERVER_ERROR = 7
    UNREACHABLE = 8  # nothing answers at the URL, or not the platform's API: a wrong URL


_EXITS = [
    (BadInput, Exit.BAD_INPUT), ((NotSignedIn, TokenRefused), Exit.NOT_SIGNED_IN), (NotFound, Exit.NOT_FOUND),
    (NotAllowed, Exit.NOT_ALLOWED), ((Conflict, RateLimited), Exit.TRY_AGAIN), (ServerError, Exit.SERVER_ERROR),
    ((PlatformUnreachable, NotThePlatform), Exit.UNREACHABLE), ((WorkspaceFailed, WaitTimeout), Exit.FAILED),
    (ApiError, Exit.FAILED),
]


def exit_code(error: DswError) -> Exit:
    return next((code for kinds, code in _EXITS if isinstance(error, kinds)), Exit.FAILED)


class Failed(DswError):
    """Something the CLI itself finds wrong that is no API error (e.g. opening a stopped workspace)."""


class _Group(click.Group):
    """Every DswError ends the command with its one-line message and exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DswError as error:
            click.echo(f"dsw: {error}", err=True)
            ctx.exit(exit_code(error))


class _Context:
    def __init__(self, url):
        self.url = url
        self._client = None

    @property
    def client(self):
        """The client for --url (or DSW_URL, or the saved login); made at the first use, so commands that need
        none (--version, --help) never import it and the HTTP library."""
        if self._client is None:
            from dsw_client.client import Client

            self._client = Client(self.url)
        return self._client


pass_context = click.make_pass_decorator(_Context)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON instead of a table.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dsw", message="%(prog)s %(version)s")
@click.option("--url", metavar="URL", help="The platform (default: DSW_URL, else the one you signed in to).")
@click.option("-v", "--verbose", is_flag=True, help="Log every request to standard error.")
@click.pass_context
def cli(ctx, url, verbose):
    """Data-science workspaces from the command line.

    \b
    dsw login --url https://portal.example.org --username alice
    dsw launch analysis --size small --wait
    """
    logger = logging.getLogger("dsw_client")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    ctx.obj = _Context(url)


class _StderrHandler(logging.Handler):
    """The library's log (retries; every request with --verbose) on whatever standard error is now."""

    def emit(self, record):
        click.echo(f"dsw: {record.getMessage()}", err=True)


def main():
    cli(prog_name="dsw")


# --- output --------------------------------------------------------------------

def _print_json(data):
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _table(headers, rows):
    rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max([len(str(header)), *(len(row[index]) for row in rows)]) for index, header in enumerate(headers)]
    for row in [headers, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _when(moment: datetime | None, with_time=True):
    if moment is None:
        return "-"
    local = moment.astimezone()
    return f"{local:%Y-%m-%d %H:%M}" if with_time else f"{local:%Y-%m-%d}"


def _money(minor: int, digits: int, currency: str) -> str:
    return f"{Decimal(minor).scaleb(-digits):,.{digits}f} {currency}"


class _Progress:
    """Shows a workspace on its way: a bar on a terminal, a line per change otherwise (logs, CI)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = None
        self.width = 0

    def __call__(self, workspace, events):
        if self.tty:
            import shutil

            filled = workspace.progress * 30 // 100
            line = f"{workspace.name} [{'#' * filled}{' ' * (30 - filled)}] {workspace.progress:3d}% {workspace.status_message}"
            line = line[:shutil.get_terminal_size().columns - 1]  # a line that wraps cannot be redrawn with \r
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
            self.stream.flush()
        else:
            for event in events:
                self.stream.write(f"{_when(event.created)}  {event.kind}  {event.message}".rstrip() + "\n")
            state = (workspace.status, workspace.progress, workspace.status_message)
            if state != self.last:
                self.stream.write(f"{workspace.name}: {workspace.status} {workspace.progress}% {workspace.status_message}".rstrip()
                                  + "\n")
                self.last = state
            self.stream.flush()

    def done(self):
        if self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()


# --- signing in ------------------------------------------------------------------

@cli.command()
@click.option("--url", "login_url", metavar="URL", help="The platform, e.g. https://portal.example.org.")
@click.option("-u", "--username", help="Your username on the platform.")
@click.option("--token-name", help="A name for the token (default: dsw on this machine's name).")
@click.option("--days", type=click.IntRange(min=1), help="Days until the token expires (default: the platform's, 30).")
@click.option("--read-only", is_flag=True, help="A token that may only read.")
@pass_context
def login(context, login_url, username, token_name, days, read_only):
    """Sign in: the password is prompted (or read from standard input when that is not a terminal),
    and a new personal access token is saved for the next commands (readable by you only)."""
    import socket

    from dsw_client.client import Client
    from dsw_client.config import SavedLogin, login_load, login_save, normal_url

    saved = login_load()
    url = login_url or context.url or os.environ.get("DSW_URL") or (saved.url if saved else None)
    if not url:
        raise click.UsageError("Give the platform's address: dsw login --url https://portal.example.org --username NAME")
    url = normal_url(url)
    interactive = sys.stdin.isatty()
    if not username:
        if saved is not None and saved.url == url and saved.username:
            username = saved.username
        elif interactive:
            username = click.prompt("Username")
        else:
            raise click.UsageError("Give --username (the password is read from standard input).")
    if interactive:
        password = click.prompt(f"Password for {username} at {url}", hide_input=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("No password on standard input.")
    client, created = Client.login(url, username, password, token_name=token_name or f"dsw on {socket.gethostname()}"[:100],
                                   expires_in_days=days, scope="read" if read_only else "write")
    path = login_save(SavedLogin(url=client.url, username=username, token=created.token, token_id=created.id,
                                 token_name=created.name, expires=created.expires))
    replaced = ""
    if saved is not None and saved.url == client.url and saved.token_id:
        replaced = (f" The token saved before (id {saved.token_id}, {saved.username}) could not be revoked: revoke it "
                    "in Settings → API tokens.")
        # The token this file held is used by nothing on this machine any more: revoke it rather than leave it live.
        # With itself (it may be another person's), else with the new one (a read-only token cannot revoke).
        for revoker in (Client(saved.url, saved.token), client):
            try:
                revoker.tokens.revoke(saved.token_id)
                replaced = " The token saved before was revoked."
                break
            except DswError:
                continue
            finally:
                if revoker is not client:
                    revoker.close()
    click.echo(f"Signed in to {client.url} as {username}: token {created.name!r} ({created.scope}, expires "
               f"{_when(created.expires, with_time=False)}) saved in {path}.{replaced}")


@cli.command()
@pass_context
def logout(context):
    """Revoke the saved token and forget it."""
    from dsw_client.client import Client
    from dsw_client.config import config_path, login_forget, login_load

    saved = login_load()
    if saved is None:
        click.echo(f"Not signed in (nothing in {config_path()}).")
        return
    revoked = "forgotten"
    if saved.token_id:
        try:
            Client(saved.url, saved.token).tokens.revoke(saved.token_id)
            revoked = "revoked and forgotten"
        except DswError as error:
            revoked = f"forgotten (not revoked: {error})"
    login_forget()
    click.echo(f"Signed out of {saved.url}: token {revoked}.")


@cli.command()
@json_option
@pass_context
def whoami(context, as_json):
    """Who you are signed in as, and your teams."""
    from dsw_client.config import credentials_resolve

    me = context.client.me()
    if as_json:
        return _print_json(me.raw)
    credentials = credentials_resolve(context.url)
    click.echo(f"{me.username} <{me.email}> at {context.client.url}" + (" (platform admin)" if me.is_platform_admin else ""))
    click.echo("teams: " + (", ".join(f"{team.slug} ({team.role})" for team in me.teams) or "none"))
    if credentials.expires is not None:
        click.echo(f"token expires {_when(credentials.expires)}")


# --- sizes and images ---------------------------------------------------------------

@cli.command()
@json_option
@pass_context
def profiles(context, as_json):
    """The sizes you may launch, with their price per hour and the hours your team's budget has left."""
    found = context.client.profiles.list()
    if as_json:
        return _print_json([profile.raw for profile in found])
    rows = []
    for profile in found:
        gpus = f"{profile.gpus} {profile.gpu_type}".strip() if profile.gpus else "-"
        price = f"{profile.hourly_price_decimal} {profile.currency}" if profile.hourly_price else "-"
        hours = ", ".join(f"{left.team}: {left.hours:g} h" for left in profile.budget_hours if left.hours is not None)
        rows.append([profile.name, profile.cpu, profile.memory, profile.disk, gpus, price, hours or "-"])
    _table(["SIZE", "CPU", "MEMORY", "DISK", "GPUS", "PRICE/HOUR", "BUDGET LEFT"], rows)


@cli.command()
@click.option("--package", help="Only images with this package (numpy, or numpy==2.1.0).")
@click.option("-q", "--search", help="Text in the reference or title.")
@click.option("--namespace", help="platform, team, user or local.")
@click.option("--status", type=click.Choice(["new", "approved", "deprecated", "retired"]))
@json_option
@pass_context
def images(context, package, search, namespace, status, as_json):
    """The image catalog entries you may see."""
    found = context.client.images.list(package=package, q=search, namespace=namespace, status=status)
    if as_json:
        return _print_json([image.raw for image in found])
    rows = []
    for image in found:
        counts = image.scan.get("counts") or {}
        scan = " ".join(f"{severity[0]}{count}" for severity, count in counts.items()) if image.scan.get("scanned") else "not scanned"
        rows.append([image.reference, image.status + (" *" if image.recommended else ""), image.python_version or "-",
                     scan, image.title])
    _table(["IMAGE", "STATUS", "PYTHON", "SCAN", "TITLE"], rows)


# --- workspaces ----------------------------------------------------------------------

def _workspaces_named(client, names):
    """The caller's workspaces by name (or by id, for a number that is no name), in the order given."""
    mine = client.workspaces.list()
    found = []
    for name in names:
        match = next((w for w in mine if w.name == name), None)
        if match is None and name.isdigit():
            match = next((w for w in mine if w.id == int(name)), None)
        if match is None:
            raise NotFound(f"You have no workspace named {name!r} (dsw ls lists yours).", status=404, detail="Not found.")
        found.append(match)
    return found


def _wait_running(client, workspace, timeout):
    progress = _Progress()
    try:
        return client.workspaces.wait_until_running(workspace, timeout=timeout, on_progress=progress)
    finally:
        progress.done()


def _report_running(workspace, as_json, open_browser=False):
    if as_json:
        _print_json(workspace.raw)
    else:
        click.echo(workspace.url)
    if open_browser:
        _open(workspace.url)


def _open(url):
    import webbrowser

    if not webbrowser.open(url):
        click.echo(f"dsw: no browser to open here; the URL is {url}", err=True)


@cli.command()
@click.argument("name")
@click.option("-s", "--size", help="A size from dsw profiles (any case, or its id); needed when there are several.")
@click.option("-i", "--image", help="A catalog entry (dsw images); default: the recommended one.")
@click.option("-t", "--team", help="Your team's slug; needed when you are in several.")
@click.option("-p", "--project", help="A project to work in and charge (slug, team/slug or id); dsw projects lists them.")
@click.option("--project-files", is_flag=True, help="Write the project's template files into the home once it runs.")
@click.option("-w", "--wait", is_flag=True, help="Wait until it runs, then print its JupyterLab URL.")
@click.option("--open", "open_browser", is_flag=True, help="Open JupyterLab in a browser once it runs (implies --wait).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True, help="Seconds to wait.")
@json_option
@pass_context
def launch(context, name, size, image, team, project, project_files, wait, open_browser, timeout, as_json):
    """Launch a workspace called NAME."""
    client = context.client
    if size is None:
        sizes = client.profiles.list()
        if len(sizes) != 1:
            names = ", ".join(profile.name for profile in sizes) or "none: ask an admin"
            raise click.UsageError(f"Choose a size with --size ({names}).")
        size = sizes[0].id
    workspace = client.workspaces.create(name, size=size, image=image, team=team, project=project,
                                         project_files=project_files or None)
    if not (wait or open_browser):
        if as_json:
            return _print_json(workspace.raw)
        click.echo(f"{workspace.name} (id {workspace.id}, {workspace.profile}): {workspace.status}. "
                   f"dsw ls shows its progress; dsw open {workspace.name} opens it once it runs.")
        return
    _report_running(_wait_running(client, workspace, timeout), as_json, open_browser)


@cli.command()
@click.option("-t", "--team", help="Only this team's projects (slug).")
@json_option
@pass_context
def projects(context, team, as_json):
    """Your teams' projects, with their stage."""
    found = context.client.projects.list(team=team)
    if as_json:
        return _print_json([project.raw for project in found])
    if not found:
        click.echo("No projects yet: start one on the Projects page.", err=True)
        return
    _table(["ID", "TEAM", "SLUG", "NAME", "STAGE", "OWNERS", "ARCHIVED"],
           [[p.id, p.team, p.slug, p.name, p.stage_label, ", ".join(p.owners), _when(p.archived, with_time=False)]
            for p in found])


@cli.command(name="ls")
@json_option
@pass_context
def list_workspaces(context, as_json):
    """Your workspaces."""
    found = context.client.workspaces.list()
    if as_json:
        return _print_json([workspace.raw for workspace in found])
    if not found:
        click.echo("No workspaces yet: dsw launch NAME --size SIZE", err=True)
        return
    _table(["ID", "NAME", "STATUS", "SIZE", "TEAM", "IMAGE", "MESSAGE"],
           [[w.id, w.name, w.status + (f" {w.progress}%" if w.status in ("pending", "starting") else ""), w.profile,
             w.team, w.image, w.status_message] for w in found])


def _action(verb):
    @click.argument("names", nargs=-1, required=True)
    @click.option("-w", "--wait", is_flag=True, help="Wait until it is done.")
    @click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True, help="Seconds to wait.")
    @json_option
    @pass_context
    def command(context, names, wait, timeout, as_json):
        client = context.client
        done = []
        for workspace in _workspaces_named(client, names):
            workspace = getattr(client.workspaces, verb)(workspace)
            if wait and verb == "stop":
                workspace = client.workspaces.wait_until_stopped(workspace, timeout=timeout)
            elif wait:
                workspace = _wait_running(client, workspace, timeout)
            done.append(workspace.raw)
            if as_json:
                continue
            elif wait and verb != "stop":
                click.echo(workspace.url)
            else:
                click.echo(f"{workspace.name}: {workspace.status}" + (f" ({workspace.status_message})" if workspace.status_message else ""))
        if as_json:
            _print_json(done)  # a list, however many names were given

    command.__doc__ = {"start": "Start stopped workspaces (--wait: print each one's URL once it runs).",
                       "stop": "Stop workspaces; their files are kept.",
                       "restart": "Restart workspaces with a fresh server (--wait: print each one's URL)."}[verb]
    return cli.command(name=verb)(command)


for _verb in ("start", "stop", "restart"):
    _action(_verb)


@cli.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--delete-home", is_flag=True, help="Also delete each workspace's home and every file in it.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask (needed with --delete-home when not on a terminal).")
@pass_context
def rm(context, names, delete_home, yes):
    """Stop and forget workspaces. Their homes are kept unless --delete-home."""
    client = context.client
    found = _workspaces_named(client, names)
    if delete_home and not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("--delete-home deletes every file: add --yes to confirm.")
        click.confirm(f"Delete {', '.join(w.name for w in found)} and every file in {'its' if len(found) == 1 else 'their'} "
                      "home?", abort=True)
    for workspace in found:
        client.workspaces.delete(workspace, delete_home=delete_home)
        click.echo(f"{workspace.name}: deleted" + ("" if delete_home else " (its home is kept)"))


@cli.command()
@click.argument("name")
@json_option
@pass_context
def events(context, name, as_json):
    """A workspace's lifecycle history, oldest first (also: dsw logs)."""
    client = context.client
    [workspace] = _workspaces_named(client, [name])
    found = client.workspaces.events(workspace)
    if as_json:
        return _print_json([event.raw for event in found])
    _table(["TIME", "EVENT", "BY", "MESSAGE"], [[_when(e.created), e.kind, e.actor or "-", e.message] for e in found])


cli.add_command(events, name="logs")


@cli.command(name="open")
@click.argument("name")
@click.option("--print", "print_only", is_flag=True, help="Only print the URL.")
@pass_context
def open_workspace(context, name, print_only):
    """Print a running workspace's JupyterLab URL and open it in a browser."""
    client = context.client
    [workspace] = _workspaces_named(client, [name])
    if workspace.status != "running" or not workspace.url:
        raise Failed(f"{workspace.name} is {workspace.status}, not running: dsw start {workspace.name} --wait")
    click.echo(workspace.url)
    if not print_only:
        _open(workspace.url)


# --- costs and budgets -------------------------------------------------------------------

def _team(client, slug):
    """The team's slug as given, or your one team's; a usage error when you are in several (or none)."""
    if slug:
        return slug
    teams = client.me().teams
    if len(teams) != 1:
        raise click.UsageError("Choose a team with --team (" + (", ".join(t.slug for t in teams) or "you are in none") + ").")
    return teams[0].slug


team_option = click.option("-t", "--team", help="The team's slug (default: your team, when you are in one).")


@cli.command()
@team_option
@click.option("--by", "group_by", type=click.Choice(["user", "profile", "image", "day", "workspace", "project"]), default="user",
              show_default=True, help="Group the costs by.")
@click.option("--start", help="ISO date or date-time (default: the budget period's start).")
@click.option("--end", help="Exclusive (default: the budget period's end).")
@click.option("--csv", "as_csv", is_flag=True, help="Print the platform's CSV export (amounts in currency units).")
@json_option
@pass_context
def costs(context, team, group_by, start, end, as_csv, as_json):
    """What a team spent (team admins and platform admins)."""
    client = context.client
    team = _team(client, team)
    if as_json:
        return _print_json(client.costs.report(team, group_by=group_by, start=start, end=end).raw)
    text = client.costs.csv(team, group_by=group_by, start=start, end=end)
    if as_csv:
        return click.echo(text, nl=False)
    import csv

    # The export is the report in currency units, formatted by the platform: the table shows it as is.
    # Its rows are key, label, cost, hours, records; people read the label ("alice", not her id).
    header, *rows = list(csv.reader(text.splitlines()))
    _table([group_by.upper(), header[2].upper(), "HOURS", "RECORDS"], [[row[1] or row[0], *row[2:]] for row in rows])


@cli.group()
def budget():
    """A team's budget: team admins read it, platform admins set it."""


def _show_budget(found, team):
    digits = len(found.amount_decimal.partition(".")[2])
    status, currency = found.status, found.currency
    click.echo(f"{team}: {found.amount_decimal} {currency} a period; at 100 %: {found.action}"
               + (f" after {found.grace_minutes} min" if found.action == "stop_workspaces" else ""))
    percent = f" ({status.percent:.1f} %)" if status.percent is not None else ""
    click.echo(f"this period ({_when(status.period_start, False)} to {_when(status.period_end, False)}): spent "
               f"{_money(status.spent, digits, currency)} of {_money(status.limit, digits, currency)}{percent}, "
               f"{_money(status.remaining, digits, currency)} left, forecast {_money(status.forecast, digits, currency)}")
    click.echo("alerts at " + ", ".join(f"{value} %" for value in found.thresholds))
    for grant in found.grants:
        click.echo(f"grant: +{grant.amount_decimal} {currency} until {_when(grant.ends)} ({grant.reason})")
    if found.stop_after is not None:
        click.echo(f"running workspaces stop at {_when(found.stop_after)} unless the budget is raised")


@budget.command(name="get")
@team_option
@json_option
@pass_context
def budget_get(context, team, as_json):
    """Show a team's budget and this period's spend."""
    client = context.client
    team = _team(client, team)
    found = client.budgets.get(team)
    if as_json:
        return _print_json(found.raw)
    _show_budget(found, team)


@budget.command(name="set")
@team_option
@click.option("--amount", help='Per period, in currency units: "500.00" (or "1,250.50").')
@click.option("--action", type=click.Choice(["notify", "block_launches", "stop_workspaces"]), help="What happens at 100 %.")
@click.option("--thresholds", help="Alert at these percentages, e.g. 50,80,100.")
@click.option("--grace-minutes", type=int, help="stop_workspaces: minutes between running out and the stop.")
@click.option("--period-start-day", type=int, help="Day of the month each period starts (1 to 28).")
@click.option("--time-zone", help="The team's time zone, e.g. Europe/Berlin.")
@json_option
@pass_context
def budget_set(context, team, amount, action, thresholds, grace_minutes, period_start_day, time_zone, as_json):
    """Set a team's budget (platform admins); what you leave out stays as it is."""
    client = context.client
    team = _team(client, team)
    levels = None
    if thresholds is not None:
        try:
            levels = [int(part) for part in thresholds.split(",") if part.strip()]
        except ValueError:
            raise click.BadParameter("give whole percentages separated by commas, e.g. 50,80,100",
                                     param_hint="--thresholds") from None
    found = client.budgets.set(team, amount_decimal=amount, action=action, thresholds=levels, grace_minutes=grace_minutes,
                               period_start_day=period_start_day, time_zone=time_zone)
    if as_json:
        return _print_json(found.raw)
    _show_budget(found, team)


# --- buckets ---------------------------------------------------------------------------------

def _size(count: int | None) -> str:
    if count is None:
        return "-"
    value, unit = float(count), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"


@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def buckets(ctx, as_json):
    """Your S3 buckets and your teams' (dsw buckets: list them)."""
    if ctx.invoked_subcommand is None:
        found = ctx.find_object(_Context).client.buckets.list()
        if as_json:
            return _print_json([bucket.raw for bucket in found])
        _table(["NAME", "KIND", "OF", "STATE", "SIZE", "OBJECTS", "QUOTA"],
               [[b.name, b.kind, b.owner or b.team, b.state, _size(b.size_bytes), b.object_count, _size(b.quota_bytes)]
                for b in found])


@buckets.command(name="ls")
@click.argument("bucket")
@click.argument("prefix", default="")
@json_option
@pass_context
def buckets_ls(context, bucket, prefix, as_json):
    """The folders and objects of BUCKET (a name or id) under PREFIX ("in/")."""
    listing = context.client.buckets.browse(_bucket_ref(bucket), prefix)
    if as_json:
        return _print_json(listing.raw)
    _table(["KEY", "SIZE", "MODIFIED"], [[folder, "-", "-"] for folder in listing.prefixes]
           + [[item.key, _size(item.size), _when(item.last_modified)] for item in listing.objects])


def _bucket_ref(text):
    return int(text) if text.isdigit() else text


@buckets.command(name="upload")
@click.argument("bucket")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("key", required=False)
@pass_context
def buckets_upload(context, bucket, file, key):
    """Put FILE into BUCKET as KEY (default: the file's name), straight to the object store."""
    key = key or os.path.basename(file)
    context.client.buckets.upload(_bucket_ref(bucket), key, file)
    click.echo(f"{file} -> {bucket}/{key}")


@buckets.command(name="download")
@click.argument("bucket")
@click.argument("key")
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
@pass_context
def buckets_download(context, bucket, key, file):
    """Write the object KEY of BUCKET to FILE (default: the key's last part; - for standard output)."""
    if file == "-":
        return context.client.buckets.download(_bucket_ref(bucket), key, click.get_binary_stream("stdout"))
    file = file or key.rsplit("/", 1)[-1]
    context.client.buckets.download(_bucket_ref(bucket), key, file)
    click.echo(f"{bucket}/{key} -> {file}")


# --- tokens ----------------------------------------------------------------------------------

@cli.group(invoke_without_command=True)
@json_option
@click.pass_context
def tokens(ctx, as_json):
    """Your personal access tokens (dsw tokens: list them)."""
    if ctx.invoked_subcommand is None:
        found = ctx.find_object(_Context).client.tokens.list()
        if as_json:
            return _print_json([token.raw for token in found])
        _table(["ID", "NAME", "SCOPE", "STATE", "CREATED", "EXPIRES", "LAST USED"],
               [[t.id, t.name, t.scope, t.state, _when(t.created), _when(t.expires), _when(t.last_used)] for t in found])


@tokens.command(name="create")
@click.argument("name")
@click.option("--days", type=click.IntRange(min=1), help="Days until it expires (default: the platform's, 30).")
@click.option("--read-only", is_flag=True, help="It may only read.")
@json_option
@pass_context
def tokens_create(context, name, days, read_only, as_json):
    """Create a token for a script; its secret is printed once, on standard output."""
    created = context.client.tokens.create(name, expires_in_days=days, scope="read" if read_only else "write")
    if as_json:
        return _print_json(created.raw)
    click.echo(f"Token {created.name!r} (id {created.id}, {created.scope}, expires {_when(created.expires)}); "
               "store the secret now, it is not shown again:", err=True)
    click.echo(created.token)


@tokens.command(name="revoke")
@click.argument("ids", nargs=-1, required=True, type=int)
@pass_context
def tokens_revoke(context, ids):
    """Revoke tokens by id (dsw tokens lists them); they stop working at once."""
    for token_id in ids:
        context.client.tokens.revoke(token_id)
        click.echo(f"token {token_id}: revoked")


if __name__ == "__main__":
    main()
