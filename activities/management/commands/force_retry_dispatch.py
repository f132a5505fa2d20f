from django.core.management.base import BaseCommand, CommandError

from activities.management.bulk_command import ids_of, moment_of, run_bulk, tenant_of
from activities.models import ActivityStatus


class Command(BaseCommand):
    help = ("Give the activities whose dispatch FAILED another round of attempts (--ids, or every one that failed "
            "since --failed-since), through the bulk service of POST /api/activities/bulk-force-retry-dispatch; "
            "prints matched / changed / skipped by reason.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--ids", help="comma-separated activity ids (at most 1,000)")
        parser.add_argument("--failed-since", help="dispatch gave up at or after (ISO 8601, or a date)")
        parser.add_argument("--reason", default="", help="kept on each FORCE_RETRY event")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")

    def handle(self, *args, **options):
        tenant = tenant_of(options["tenant"])
        ids = ids_of(options["ids"]) if options["ids"] is not None else None
        filters = {"status": [ActivityStatus.FAILED]}
        if options["failed_since"] is not None:
            if ids is not None:
                raise CommandError("Give --ids or --failed-since, not both")
            filters["failed_since"] = moment_of("failed-since", options["failed_since"])
        run_bulk(self, operation="force_retry_dispatch", tenant=tenant, ids=ids, filters=filters,
                 reason=options["reason"], dry_run=options["dry_run"])
