from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from activities.services import activity_counts_rebuild
from tenants.models import Tenant


class Command(BaseCommand):
    help = ("Rebuild the per-tenant activity counts PostgreSQL keeps for the activity list's meta.total from the "
            "rows (after a restore that ran without triggers); prints each tenant whose count was off.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="tenant slug (default: every tenant)")
        parser.add_argument("--dry-run", action="store_true",
                            help="only report the counts that are off; exit with status 1 when any is")

    def handle(self, *args, **options):
        tenant = None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"Unknown tenant slug {options['tenant']!r}")
        if connection.vendor != "postgresql":
            self.stdout.write(f"Nothing to recount on {connection.vendor}: the list counts its rows there.")
            return
        report = activity_counts_rebuild(tenant=tenant, dry_run=options["dry_run"])
        off = [row for row in report if row.off]
        slugs = dict(Tenant.objects.filter(pk__in=[row.tenant_id for row in off]).values_list("pk", "slug"))
        for row in off:
            self.stdout.write(f"{slugs.get(row.tenant_id, row.tenant_id)}: kept {row.kept}, counted {row.counted}")
        verb = "would fix" if options["dry_run"] else "fixed"
        self.stdout.write(f"{len(report)} tenant(s) recounted; {verb} {len(off)}.")
        if options["dry_run"] and off:
            raise CommandError(f"{len(off)} tenant count(s) are off; run without --dry-run to fix them")
