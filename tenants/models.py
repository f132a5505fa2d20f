import hashlib
import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from reten.models import TenantOwnedModel, TimestampedModel
from tenants.roles import ROLE_PERMISSIONS, RoleName, level_of, permissions_of


class Tenant(TimestampedModel):
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    # Kept by the webhooks app: False lets the outbox skip a tenant with no active endpoint at no query cost.
    has_webhook_endpoints = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.slug})"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. `is_superuser` is the platform role SUPER_ADMIN, and vice versa."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    username = models.CharField(max_length=150, unique=True, null=True, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin console.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        problem = username_problem(self.username) if self.username else None
        if problem:
            raise ValidationError({"username": problem})

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        if self.username == "":
            self.username = None
        super().save(*args, **kwargs)

    @property
    def is_super_admin(self):
        return self.is_superuser


def username_problem(username):
    """Why `username` may not be used, or None. A username must never be mistaken for an e-mail at login."""
    if "@" in username:
        return "Usernames may not contain @."
    if User.objects.filter(email__iexact=username.strip()).exists():
        return "Usernames may not equal an e-mail address."
    return None


class Role(models.Model):
    """A role row (SPEC: roles have ids). What each role may do is `tenants.roles.ROLE_PERMISSIONS`."""

    name = models.CharField(max_length=32, unique=True, choices=[(r.value, r.value) for r in RoleName])
    description = models.CharField(max_length=255, blank=True)
    level = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["level"]

    def __str__(self):
        return self.name

    @property
    def permissions(self):
        return sorted(ROLE_PERMISSIONS[RoleName(self.name)])


class MembershipStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    # An invitation: grants nothing (no tenant access, no roles) until the invited user accepts it.
    INVITED = "INVITED", "Invited"


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=MembershipStatus.ACTIVE)

    def invited(self):
        return self.filter(status=MembershipStatus.INVITED)


class Membership(TimestampedModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    roles = models.ManyToManyField(Role, related_name="memberships", blank=True)
    status = models.CharField(max_length=16, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE,
                              db_index=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_user_tenant_unique")]

    def __str__(self):
        suffix = " (invited)" if self.status == MembershipStatus.INVITED else ""
        return f"{self.user} in {self.tenant.slug}{suffix}"

    @property
    def is_active(self):
        return self.status == MembershipStatus.ACTIVE

    def role_names(self):
        return sorted({role.name for role in self.roles.all()}, key=lambda n: level_of([n]))

    def get_additional_data(self):
        """What django-auditlog stores with each entry of this membership: its tenant (reten/audit.py)."""
        return {"tenant_id": str(self.tenant_id)}


class ApiKey(TenantOwnedModel):
    """A secret for machine clients. Only the SHA-256 of the key is stored; the plaintext is shown once."""

    PREFIX = "rtn_sk_"

    name = models.CharField(max_length=255)
    key_prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    permissions = models.JSONField(default=list)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_keys")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "created_by", "-created_at"], name="apikey_owner_idx")]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def hash_key(plaintext):
        return hashlib.sha256(plaintext.encode()).hexdigest()

    def is_usable(self, now=None):
        now = now or timezone.now()
        return self.is_active and self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def membership_role_names(user, tenant):
    """(is_member, role names of the ACTIVE membership) in one query; roles sorted by level.

    An invitation (status INVITED) is no membership: it grants neither access nor roles.
    """
    rows = list(Membership.objects.active().filter(user=user, tenant=tenant).values_list("roles__name", flat=True))
    names = sorted({name for name in rows if name}, key=lambda n: level_of([n]))
    return bool(rows), names


def user_role_names(user, tenant):
    """Role names of `user` in `tenant`, SUPER_ADMIN first when the user is a platform admin."""
    _member, names = membership_role_names(user, tenant)
    return ([RoleName.SUPER_ADMIN.value] if user.is_superuser else []) + names


def user_role_names_across(user, memberships):
    """SUPER_ADMIN for a platform admin, plus every role the given ACTIVE memberships hold, sorted by level."""
    names = {RoleName.SUPER_ADMIN.value} if user.is_superuser else set()
    names.update(Role.objects.filter(memberships__in=memberships, memberships__status=MembershipStatus.ACTIVE)
                 .values_list("name", flat=True))
    return sorted(names, key=lambda n: level_of([n]))


def user_permissions_in(user, tenant):
    return permissions_of(user_role_names(user, tenant))
