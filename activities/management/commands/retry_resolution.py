import uuid

from django.core.management.base import BaseCommand, CommandError

from activities.models import Activity, ActivityStatus
from activities.services import activity_retry_resolution, activity_retry_resolution_preview
from reten import errors
from tenants.actors import SYSTEM
from tenants.models import Tenant


class Command(BaseCommand):
    help = ("Retry resolution of every UNRESOLVED activity (or one), as the API's retry-resolution does; "
            "prints how many resolved and how many are still unresolved.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="tenant slug (default: every tenant)")
        parser.add_argument("--activity", help="one activity id")
        parser.add_argument("--dry-run", action="store_true",
                            help="say what would resolve (client hooks are still called) without saving anything")

    def handle(self, *args, **options):
        activities = Activity.objects.filter(status=ActivityStatus.UNRESOLVED)
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"Unknown tenant slug {options['tenant']!r}")
            activities = activities.filter(tenant=tenant)
        if options["activity"]:
            try:
                activity_id = uuid.UUID(options["activity"])
            except ValueError:
                raise CommandError(f"--activity must be a UUID, got {options['activity']!r}") from None
            one = Activity.objects.filter(pk=activity_id)
            if options["tenant"]:
                one = one.filter(tenant=tenant)
            found = one.first()
            if found is None:
                raise CommandError(f"Unknown activity {activity_id}")
            if found.status != ActivityStatus.UNRESOLVED:
                raise CommandError(f"Activity {activity_id} is {found.status}; only UNRESOLVED activities are retried")
            activities = one
        resolved = still_unresolved = 0
        for activity in activities.order_by("created_at").only("id", "status").iterator(chunk_size=200):
            if options["dry_run"]:
                ready = activity_retry_resolution_preview(activity=activity)
            else:
                try:
                    ready = activity_retry_resolution(activity=activity, actor=SYSTEM).status == ActivityStatus.READY
                except errors.IllegalTransition:
                    continue  # changed by someone else since it was listed
            if ready:
                resolved += 1
            else:
                still_unresolved += 1
        verb = "would resolve" if options["dry_run"] else "resolved"
        self.stdout.write(f"{verb}: {resolved}, still unresolved: {still_unresolved}")
