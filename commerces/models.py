"""The commerce directory (SPEC section 3): who activities are for, and who executes them."""
from django.db import models
from django.db.models import Q

from reten.models import TenantOwnedModel, TenantQuerySet, TimestampedModel


class Source(models.TextChoices):
    RETEN = "RETEN"
    INTEGRATION = "INTEGRATION"


class Commerce(TenantOwnedModel):
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    tax_id = models.CharField(max_length=64, null=True, blank=True)
    global_external_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    is_active = models.BooleanField(default=True)
    is_placeholder = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "external_id"], name="commerce_tenant_external_id_unique"),
            models.UniqueConstraint(fields=["tenant", "tax_id"], name="commerce_tenant_tax_id_unique",
                                    condition=Q(tax_id__isnull=False)),
        ]
        indexes = [models.Index(fields=["tenant", "name"], name="commerce_tenant_name_idx")]

    def __str__(self):
        return f"{self.name} ({self.external_id})"


class CommerceUserRole(models.TextChoices):
    OWNER = "OWNER"
    ORDERS = "ORDERS"
    FINANCE = "FINANCE"
    ATTENTION = "ATTENTION"
    ADMIN = "ADMIN"
    COMMERCE_REP = "COMMERCE_REP"
    OTHER = "OTHER"


class CommerceUserQuerySet(models.QuerySet):
    def for_tenant(self, tenant):
        return self.filter(commerce__tenant=tenant)


class CommerceUser(TimestampedModel):
    """A person at the store."""

    commerce = models.ForeignKey(Commerce, on_delete=models.CASCADE, related_name="users")
    external_id = models.CharField(max_length=255, null=True, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.RETEN)
    is_active = models.BooleanField(default=True)

    objects = CommerceUserQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["commerce", "external_id"], name="commerce_user_external_id_unique",
                                    condition=Q(external_id__isnull=False)),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip() or str(self.pk)


class CommerceUserRoleAssignment(models.Model):
    commerce_user = models.ForeignKey(CommerceUser, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=16, choices=CommerceUserRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["commerce_user", "role"], name="commerce_user_role_unique"),
        ]
        indexes = [models.Index(fields=["role", "commerce_user"], name="commerce_user_role_idx")]

    def __str__(self):
        return self.role


class ContactType(models.TextChoices):
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    WHATSAPP = "WHATSAPP"
    OTHER = "OTHER"


class Contact(TimestampedModel):
    commerce_user = models.ForeignKey(CommerceUser, on_delete=models.CASCADE, related_name="contacts")
    contact_type = models.CharField(max_length=16, choices=ContactType.choices)
    value = models.CharField(max_length=320)
    is_primary = models.BooleanField(default=False)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.RETEN)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-is_primary", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["commerce_user", "contact_type"], name="contact_one_primary_per_type",
                                    condition=Q(is_primary=True)),
            models.UniqueConstraint(fields=["commerce_user", "contact_type", "value"],
                                    name="contact_user_type_value_unique"),
        ]

    def __str__(self):
        return f"{self.contact_type}: {self.value}"

    def validate_constraints(self, exclude=None):
        # Services demote the previous primary when a new one is saved, so forms must not refuse it first.
        super().validate_constraints(exclude={*(exclude or ()), "is_primary"})


class Address(TimestampedModel):
    commerce = models.ForeignKey(Commerce, on_delete=models.CASCADE, related_name="addresses")
    address_alias = models.CharField(max_length=100, blank=True)
    street = models.CharField(max_length=255, blank=True)
    street_number = models.CharField(max_length=32, blank=True)
    unit = models.CharField(max_length=64, blank=True)
    city = models.CharField(max_length=128, blank=True)
    commune = models.CharField(max_length=128, blank=True)
    region = models.CharField(max_length=128, blank=True)
    country_code = models.CharField(max_length=2, blank=True)
    formatted_address = models.CharField(max_length=512, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_primary = models.BooleanField(default=False)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.RETEN)
    source_ref = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-is_primary", "created_at"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(fields=["commerce"], name="address_one_primary_per_commerce",
                                    condition=Q(is_primary=True)),
            # The integration's own reference identifies an address across syncs.
            models.UniqueConstraint(fields=["commerce", "source_ref"], name="address_commerce_source_ref_unique",
                                    condition=~Q(source_ref="")),
        ]

    def __str__(self):
        return self.formatted_address or f"{self.street} {self.street_number}, {self.city}".strip(" ,")

    def validate_constraints(self, exclude=None):
        # Services demote the previous primary when a new one is saved, so forms must not refuse it first.
        super().validate_constraints(exclude={*(exclude or ()), "is_primary"})


class OperatorType(models.TextChoices):
    SALESMAN = "SALESMAN"
    ACTIVATOR = "ACTIVATOR"
    CALLCENTER = "CALLCENTER"


class Operator(TenantOwnedModel):
    """A field salesman, activator or call-center agent who executes TASK activities."""

    type = models.CharField(max_length=16, choices=OperatorType.choices)
    name = models.CharField(max_length=255)
    email = models.EmailField(null=True, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    # Optional (issue 10: the docs' minimum is type and name); NULLs never collide in the unique constraint.
    external_id = models.CharField(max_length=255, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_placeholder = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "email"], name="operator_tenant_email_unique",
                                    condition=Q(email__isnull=False)),
            models.UniqueConstraint(fields=["tenant", "type", "external_id"],
                                    name="operator_tenant_type_external_id_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.type} {self.external_id or 'no external id'})"


class Route(TenantOwnedModel):
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    operators = models.ManyToManyField(Operator, through="RouteOperator", related_name="routes")

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="route_tenant_code_unique")]

    def __str__(self):
        return f"{self.code} {self.name}"


class RouteOperatorRole(models.TextChoices):
    LEAD = "LEAD"
    MEMBER = "MEMBER"


class RouteOperator(TimestampedModel):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="route_operators")
    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="route_operators")
    role = models.CharField(max_length=8, choices=RouteOperatorRole.choices, default=RouteOperatorRole.MEMBER)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["route", "operator"], name="route_operator_unique")]

    def __str__(self):
        return f"{self.operator} on {self.route} ({self.role})"
