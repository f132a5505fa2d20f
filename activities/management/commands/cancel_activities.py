from django.core.management.base import BaseCommand, CommandError

from activities.management.bulk_command import ids_of, list_filters, run_bulk, tenant_of


class Command(BaseCommand):
    help = ("Cancel the READY activities of a tenant named by --ids or matching the filters, through the bulk "
            "service of POST /api/activities/bulk-cancel; prints matched / changed / skipped by reason.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--ids", help="comma-separated activity ids (at most 1,000)")
        parser.add_argument("--status", help="status filter, e.g. READY (comma-separated for several)")
        parser.add_argument("--channel", help="channel filter (comma-separated for several)")
        parser.add_argument("--scheduled-to", help="scheduled at or before (ISO 8601, or a date: its whole day)")
        parser.add_argument("--reason", default="", help="kept on each CANCELED event")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")

    def handle(self, *args, **options):
        tenant = tenant_of(options["tenant"])
        filters = list_filters({"status": options["status"], "channel": options["channel"],
                                "scheduled_to": options["scheduled_to"]})
        ids = ids_of(options["ids"]) if options["ids"] is not None else None
        if ids is not None and filters:
            raise CommandError("Give --ids or filters (--status, --channel, --scheduled-to), not both")
        run_bulk(self, operation="cancel", tenant=tenant, ids=ids, filters=filters, reason=options["reason"],
                 dry_run=options["dry_run"])
