import subprocess
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from builds import recipes, services
from builds.builder import StepFailed


class Command(BaseCommand):
    help = ("Build the curated images (`make images`): the hardened base (docker/singleuser.Dockerfile) and the "
            "definitions in images/definitions/ (default: " + ", ".join(recipes.CURATED_DEFAULT) + "), into platform/… "
            "with their SBOMs; they then wait for an admin's approval in the catalog. Needs the platform running "
            "(`make run`: its registry asks the portal for tokens). Images already built from the same files are kept.")

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help=f"definitions to build (known: {', '.join(recipes.curated_names())})")
        parser.add_argument("--as", dest="username", default="", help="the platform admin the builds are recorded for "
                                                                       "(default: the first one)")

    def handle(self, *args, names, username, **options):
        unavailable = services.builds_unavailable()
        if unavailable:
            raise CommandError(unavailable)
        admins = get_user_model().objects.filter(Q(is_staff=True) | Q(is_superuser=True), is_active=True).order_by("pk")
        actor = admins.filter(username=username).first() if username else admins.first()
        if actor is None:
            raise CommandError("No platform admin to record the builds for: run `manage.py ensure_admin` first.")
        try:
            names = recipes.curated_order(names or recipes.CURATED_DEFAULT)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        builder = services.builder_for_settings()
        storage = ["--storage-driver", builder.driver, "--root", str(builder.storage_root / "root"),
                   "--runroot", str(builder.storage_root / "run")]
        script = Path(services.ROOT) / "docker" / "debian-base.sh"
        made = subprocess.run(["bash", str(script), *storage], capture_output=True, text=True)
        if made.returncode != 0:
            raise CommandError(f"No Debian base image: {made.stderr.strip()[-2000:]}")
        try:
            results = services.curated_build_all(names=names, actor=actor, debian_base=made.stdout.strip().splitlines()[-1],
                                                 echo=self.stdout.write, builder=builder)
        except StepFailed as exc:
            raise CommandError(f"{exc.reason} (the whole log is on the build's page: /images/builds/)") from None
        self.stdout.write("")
        for name, entry, built in results:
            self.stdout.write(f"{entry.reference}  {entry.status}{'  (built now)' if built else ''}")
        self.stdout.write("Approve them for your teams in the catalog (/images/) or with POST /api/v1/images/{id}/approve/.")
