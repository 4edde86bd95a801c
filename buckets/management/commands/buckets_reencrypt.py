from django.core.management.base import BaseCommand

from buckets.services import keys_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every stored S3 secret under the first PLATFORM_BUCKETS_ENCRYPTION_KEYS key (idempotent)."

    def handle(self, *args, **options):
        self.stdout.write(f"Re-encrypted {keys_reencrypt()} secret(s) under the first key.")
