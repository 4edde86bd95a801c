from django.core.management.base import BaseCommand

from costs.metering import rollups_rebuild


class Command(BaseCommand):
    help = ("Recompute the hourly cost roll-ups from the usage ledger, under the metering lock (idempotent; "
            "for after a restore of the ledger alone or a manual correction).")

    def handle(self, *args, **options):
        self.stdout.write(f"Rebuilt {rollups_rebuild()} roll-up row(s) from the ledger.")
