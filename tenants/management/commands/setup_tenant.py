from django.core.management.base import BaseCommand, CommandError

from reten import errors
from tenants import services


class Command(BaseCommand):
    help = "Create a tenant and its first ADMIN user (same service as POST /api/tenant/setup). Prints the id last."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", required=True)
        parser.add_argument("--admin-first-name", default="")
        parser.add_argument("--admin-last-name", default="")

    def handle(self, *args, **options):
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email, validate_slug

        try:
            validate_slug(options["slug"])
            validate_email(options["admin_email"])
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from None
        try:
            tenant = services.tenant_setup(
                name=options["name"], slug=options["slug"], admin_email=options["admin_email"],
                admin_password=options["admin_password"], admin_first_name=options["admin_first_name"],
                admin_last_name=options["admin_last_name"],
            )
        except errors.DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created tenant {tenant.name} ({tenant.slug}) with admin {options['admin_email']}")
        self.stdout.write(str(tenant.id))
