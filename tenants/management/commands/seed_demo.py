import importlib
import importlib.util

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.models import Membership, Role, Tenant, User

DEMO_PASSWORD = "reten-demo-2026"
DEMO_TENANT_SLUG = "demo"
DEMO_USERS = [
    # (email, first name, last name, tenant roles, superuser)
    ("superadmin@reten.demo", "Sofia", "Super", [], True),
    ("admin@reten.demo", "Ana", "Admin", ["ADMIN"], False),
    ("fde@reten.demo", "Felipe", "Engineer", ["FDE"], False),
    ("viewer@reten.demo", "Victor", "Viewer", ["VIEWER"], False),
]
# Apps that add their own demo data, in dependency order (each exposes demo.seed(*, tenant, stdout)).
DEMO_APPS = ["commerces", "dispatch", "activities", "webhooks"]


class Command(BaseCommand):
    help = "Create (idempotently) the demo tenant, one user per role, and each app's demo data."

    def handle(self, *args, **options):
        with transaction.atomic():
            tenant, created = Tenant.objects.get_or_create(slug=DEMO_TENANT_SLUG,
                                                           defaults={"name": "Demo Retail"})
            self.stdout.write(f"Tenant {tenant.slug}: {'created' if created else 'already there'} ({tenant.id})")
            for email, first, last, roles, superuser in DEMO_USERS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    factory = User.objects.create_superuser if superuser else User.objects.create_user
                    user = factory(email=email, password=DEMO_PASSWORD, first_name=first, last_name=last)
                membership, _ = Membership.objects.get_or_create(user=user, tenant=tenant)
                if roles:
                    membership.roles.add(*Role.objects.filter(name__in=roles))
        for app in DEMO_APPS:
            if app in settings.INSTALLED_APPS and importlib.util.find_spec(f"{app}.demo"):
                importlib.import_module(f"{app}.demo").seed(tenant=tenant, stdout=self.stdout)
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}; unchanged if you changed it):")
        for email, _first, _last, roles, _superuser in DEMO_USERS:
            self.stdout.write(f"  {(roles or ['SUPER_ADMIN'])[0]:<12} {email}")
        self.stdout.write(f"Tenant id for the x-tenant-id header: {tenant.id}")
