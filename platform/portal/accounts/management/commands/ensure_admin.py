import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.audit.services import audit_record
from workspaces.starter import starter_content_create


class Command(BaseCommand):
    help = (
        "Create the first platform admin if it does not exist: user PLATFORM_ADMIN_USER (default 'admin'), "
        "password PLATFORM_ADMIN_PASSWORD or a generated one, printed once. On a fresh embedded platform it also "
        "makes a starter team for that admin and starter sizes for this machine. Idempotent."
    )

    def handle(self, *args, **options):
        username = os.environ.get("PLATFORM_ADMIN_USER") or "admin"
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin user:  {username} (exists; its password was printed when it was created — "
                              f"reset it with: .venv/bin/python manage.py changepassword {username})")
            return
        password = os.environ.get("PLATFORM_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        with transaction.atomic():
            user = User.objects.create_superuser(username=username, email="", password=password)
            audit_record(action="user.created", actor=None, target=user, data={"via": "ensure_admin", "platform_admin": True})
            # A fresh embedded platform is ready to launch: a team for the admin and sizes for this machine.
            starter = starter_content_create(admin=user)
        self.stdout.write(f"Admin user:  {username}")
        if os.environ.get("PLATFORM_ADMIN_PASSWORD"):
            self.stdout.write("Password:    (from PLATFORM_ADMIN_PASSWORD)")
        else:
            self.stdout.write(f"Password:    {password}    (shown once: store it now)")
        if starter is not None:
            team, profiles = starter
            sizes = ", ".join(f"{profile.name} ({profile.summary})" for profile in profiles)
            self.stdout.write(f"Ready to launch: team {team.name!r} with sizes {sizes}")
