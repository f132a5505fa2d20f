from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from reten import errors
from tenants import services
from tenants.models import Tenant, User


class Command(BaseCommand):
    help = "Create an API key for a user in a tenant. The last line printed is the key, shown only once."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--email", required=True, help="the user the key acts for")
        parser.add_argument("--name", required=True)
        parser.add_argument("--permissions", required=True,
                            help="comma-separated, e.g. VIEW_ACTIVITIES,CREATE_ACTIVITY")
        parser.add_argument("--expires-at", default=None, help="ISO 8601 timestamp with time zone")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"Unknown tenant slug {options['tenant']!r}")
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"Unknown user {options['email']!r}")
        expires_at = None
        if options["expires_at"]:
            expires_at = parse_datetime(options["expires_at"])
            if expires_at is None or expires_at.tzinfo is None:
                raise CommandError("--expires-at must be an ISO 8601 timestamp with a time zone")
        permissions = [p.strip() for p in options["permissions"].split(",") if p.strip()]
        if len(options["name"]) > 255:
            raise CommandError("--name must be at most 255 characters")
        try:
            key, plaintext = services.api_key_create(tenant=tenant, creator=user, name=options["name"],
                                                     permissions=permissions, expires_at=expires_at)
        except errors.DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created API key {key.name!r} ({key.key_prefix}) with {', '.join(key.permissions)}")
        self.stdout.write(plaintext)
