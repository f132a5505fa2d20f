"""Reads for tenants, users and API keys."""
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, Q

from reten.audit import OBJECT_TYPES
from tenants.models import ApiKey, Membership, MembershipStatus, Tenant, User
from tenants.roles import Permission, permissions_of


def login_account(*, identifier: str) -> User | None:
    """The one user a login identifier names: the e-mail first, then the username; never a choice between two."""
    user = User.objects.filter(email__iexact=identifier).first()
    if user is None:
        user = User.objects.filter(username=identifier).first()
    return user


def tenants_of_user(*, user):
    if user.is_superuser:
        return Tenant.objects.filter(is_active=True)
    return Tenant.objects.filter(
        is_active=True, memberships__user=user, memberships__status=MembershipStatus.ACTIVE
    ).distinct()


def tenants_visible_to(*, user):
    """Tenants the user may see with VIEW_TENANTS: all for a super admin, else where a role grants it."""
    if user.is_superuser:
        return Tenant.objects.all()
    visible = [
        m.tenant_id
        for m in Membership.objects.active().filter(user=user).prefetch_related("roles")
        if Permission.VIEW_TENANTS in permissions_of(m.role_names())
    ]
    return Tenant.objects.filter(pk__in=visible)


def tenant_user_list(*, tenant, search=None):
    """The tenant's members (ACTIVE memberships): an invited user is not listed until they accept."""
    memberships = Membership.objects.active().filter(tenant=tenant).prefetch_related("roles")
    users = User.objects.filter(
        memberships__tenant=tenant, memberships__status=MembershipStatus.ACTIVE
    ).prefetch_related(
        Prefetch("memberships", queryset=memberships, to_attr="tenant_memberships")
    )
    if search:
        users = users.filter(
            Q(email__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
        )
    return users.order_by("email")


def invitation_list(*, user):
    """The user's own pending invitations to active tenants, newest first."""
    return (
        Membership.objects.invited().filter(user=user, tenant__is_active=True)
        .select_related("tenant", "invited_by").prefetch_related("roles").order_by("-created_at")
    )


def api_key_list(*, tenant, user):
    return ApiKey.objects.for_tenant(tenant).filter(created_by=user).order_by("-created_at")


def api_key_list_of_tenant(*, tenant):
    """Every key of the tenant with its creator (SPEC 11.6: so a departing employee's keys can be found)."""
    return ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at")




def audit_log_list(*, tenant, filters):
    """The audit entries of `tenant`'s objects (each entry carries its object's tenant), newest first.

    Global objects (providers, channel definitions, roles) belong to no tenant: they are read in the admin.
    """
    entries = (LogEntry.objects.filter(additional_data__tenant_id=str(tenant.id))
               .select_related("actor", "content_type").order_by("-timestamp", "-id"))
    if "object_type" in filters:
        entries = entries.filter(content_type=ContentType.objects.get_for_model(OBJECT_TYPES[filters["object_type"]]))
    if "object_id" in filters:
        entries = entries.filter(object_pk=filters["object_id"])
    if "actor_id" in filters:
        entries = entries.filter(actor_id=filters["actor_id"])
    if "from" in filters:
        entries = entries.filter(timestamp__gte=filters["from"])
    if "to" in filters:
        entries = entries.filter(timestamp__lte=filters["to"])
    return entries
