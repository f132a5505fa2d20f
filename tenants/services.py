"""State changes for tenants, users, memberships and API keys."""
import secrets

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from reten import errors
from tenants.models import (
    ApiKey,
    Membership,
    MembershipStatus,
    Role,
    Tenant,
    User,
    user_permissions_in,
    user_role_names,
    username_problem,
)
from tenants.roles import TENANT_ROLES, Permission, level_of


def validate_new_password(password, *, user=None, field="new_password"):
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise errors.ValidationFailed(f"{field}: {exc.messages[0]}", details={field: exc.messages}) from None


def revoke_refresh_tokens(user):
    """Log the user out everywhere: every outstanding refresh token is blacklisted."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


def _clean_role_names(roles, field="roles"):
    names = []
    for raw in roles:
        if raw not in TENANT_ROLES:
            allowed = ", ".join(TENANT_ROLES)
            raise errors.ValidationFailed(
                f"{field}: unknown or non-tenant role {raw!r} (allowed: {allowed})",
                details={field: [f"{raw!r} is not one of {allowed}."]},
            )
        if raw not in names:
            names.append(str(raw))
    if not names:
        raise errors.ValidationFailed(f"{field}: at least one role is required",
                                      details={field: ["At least one role is required."]})
    return names


def actor_level(*, tenant, user):
    return level_of(user_role_names(user, tenant))


def _check_may_assign(*, tenant, actor_user, role_names):
    mine = actor_level(tenant=tenant, user=actor_user)
    too_high = [name for name in role_names if level_of([name]) <= mine]
    if too_high:
        refused = ", ".join(too_high)
        raise errors.PermissionDenied(f"You may only assign roles below your own level (refused: {refused})")


def _check_may_manage(*, tenant, actor_user, target):
    if actor_level(tenant=tenant, user=actor_user) >= actor_level(tenant=tenant, user=target):
        raise errors.PermissionDenied("You may only manage users of a lower role level than yours")


def _set_membership_roles(membership, role_names):
    membership.roles.set(Role.objects.filter(name__in=role_names))


@transaction.atomic
def tenant_setup(*, name, slug, admin_email, admin_password, admin_first_name="", admin_last_name=""):
    """Create a tenant and its first ADMIN (a new user, or an existing one linked), all or nothing."""
    if Tenant.objects.filter(slug=slug).exists():
        raise errors.Conflict(f"A tenant with slug {slug!r} already exists")
    email = admin_email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        validate_new_password(admin_password, field="admin_password")
        user = User.objects.create_user(
            email=email, password=admin_password, first_name=admin_first_name, last_name=admin_last_name
        )
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(name=name, slug=slug)
    except IntegrityError:
        raise errors.Conflict(f"A tenant with slug {slug!r} already exists") from None
    membership = Membership.objects.create(user=user, tenant=tenant)
    _set_membership_roles(membership, ["ADMIN"])
    return tenant


def validate_username(username):
    """A username may not contain @ nor equal any e-mail (it would take over that e-mail's login); 409 if taken."""
    problem = username_problem(username)
    if problem:
        raise errors.ValidationFailed(f"username: {problem}", details={"username": [problem]})
    if User.objects.filter(username__iexact=username).exists():
        raise errors.Conflict(f"Username {username!r} is taken")


@transaction.atomic
def tenant_user_create(*, tenant, actor_user, email, roles, password=None, first_name="", last_name="",
                       username=None) -> Membership:
    """Add a user to the tenant with the given roles.

    A new e-mail creates the user and an ACTIVE membership. An e-mail that already has an account makes an
    invitation instead (status INVITED): it grants nothing until that user accepts it, and nothing of the
    account (password, names, username) is touched. The returned membership's status says which happened.
    """
    role_names = _clean_role_names(roles)
    _check_may_assign(tenant=tenant, actor_user=actor_user, role_names=role_names)
    email = email.strip().lower()
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is None:
        if not password:
            raise errors.ValidationFailed("password: required for a new user",
                                          details={"password": ["Required when the user does not exist yet."]})
        if username:
            validate_username(username)
        validate_new_password(password, field="password")
        user = User.objects.create_user(email=email, password=password, first_name=first_name,
                                        last_name=last_name, username=username or None)
        status = MembershipStatus.ACTIVE
    else:
        existing = Membership.objects.filter(user=user, tenant=tenant).first()
        if existing is not None and existing.status == MembershipStatus.INVITED:
            raise errors.Conflict("This user has already been invited to the tenant")
        if existing is not None:
            raise errors.Conflict("This user is already a member of the tenant")
        status = MembershipStatus.INVITED
    membership = Membership.objects.create(user=user, tenant=tenant, status=status,
                                           invited_by=actor_user if status == MembershipStatus.INVITED else None)
    _set_membership_roles(membership, role_names)
    return membership


def tenant_member(*, tenant, user_id):
    """The ACTIVE membership of `user_id` in `tenant`; an invited user is not (yet) a member -> 404."""
    membership = (
        Membership.objects.active().select_related("user").filter(tenant=tenant, user_id=user_id).first()
    )
    if membership is None:
        raise errors.NotFound("User not found in this tenant")
    return membership


def _check_may_change_account(*, tenant, actor_user, target):
    """Accounts are global: only a SUPER_ADMIN changes the credentials of a user who belongs to another tenant."""
    if actor_user.is_superuser:
        return
    if Membership.objects.active().filter(user=target).exclude(tenant=tenant).exists():
        raise errors.PermissionDenied(
            "This user also belongs to another tenant: only a platform administrator may change their "
            "credentials, e-mail or username"
        )


def _tenant_to_manage(*, tenant_id, api_key=None) -> Tenant:
    """The tenant in the path, locked. An API key acts only in its own tenant: any other id is not found."""
    tenant = Tenant.objects.select_for_update().filter(pk=tenant_id).first()
    if tenant is None or (api_key is not None and api_key.tenant_id != tenant.pk):
        raise errors.NotFound("Tenant not found")
    return tenant


@transaction.atomic
def tenant_update(*, tenant_id, data, api_key=None) -> Tenant:
    """Rename or (de)activate a tenant. An inactive tenant refuses its members and its API keys (tenancy)."""
    tenant = _tenant_to_manage(tenant_id=tenant_id, api_key=api_key)
    changed = [name for name in ("name", "is_active") if name in data and getattr(tenant, name) != data[name]]
    for name in changed:
        setattr(tenant, name, data[name])
    if changed:
        tenant.save(update_fields=[*changed, "updated_at"])
    return tenant


@transaction.atomic
def tenant_deactivate(*, tenant_id, api_key=None) -> Tenant:
    """DELETE of a tenant: the row and its data stay (history), but nobody can act in it any more."""
    return tenant_update(tenant_id=tenant_id, data={"is_active": False}, api_key=api_key)


@transaction.atomic
def tenant_user_remove(*, tenant, actor_user, user_id) -> None:
    """Remove a member from the tenant: the membership goes and the user's API keys in the tenant are revoked."""
    if user_id == actor_user.pk:
        raise errors.PermissionDenied("You cannot remove yourself from the tenant")
    membership = tenant_member(tenant=tenant, user_id=user_id)
    Membership.objects.select_for_update().filter(pk=membership.pk).first()
    _check_may_manage(tenant=tenant, actor_user=actor_user, target=membership.user)
    ApiKey.objects.for_tenant(tenant).filter(created_by_id=user_id, revoked_at__isnull=True).update(
        is_active=False, revoked_at=timezone.now())
    membership.delete()


@transaction.atomic
def tenant_user_set_roles(*, tenant, actor_user, user_id, roles):
    role_names = _clean_role_names(roles)
    membership = tenant_member(tenant=tenant, user_id=user_id)
    Membership.objects.select_for_update().filter(pk=membership.pk).first()
    _check_may_manage(tenant=tenant, actor_user=actor_user, target=membership.user)
    _check_may_assign(tenant=tenant, actor_user=actor_user, role_names=role_names)
    _set_membership_roles(membership, role_names)
    return membership.user


@transaction.atomic
def tenant_user_reset_password(*, tenant, actor_user, user_id, new_password):
    membership = tenant_member(tenant=tenant, user_id=user_id)
    target = membership.user
    _check_may_manage(tenant=tenant, actor_user=actor_user, target=target)
    _check_may_change_account(tenant=tenant, actor_user=actor_user, target=target)
    validate_new_password(new_password, user=target)
    target.set_password(new_password)
    target.save(update_fields=["password"])
    revoke_refresh_tokens(target)
    return target


def _own_invitation(*, user, invitation_id):
    invitation = (
        Membership.objects.invited().select_for_update()
        .filter(pk=invitation_id, user=user, tenant__is_active=True).first()
    )
    if invitation is None:
        raise errors.NotFound("Invitation not found")
    return invitation


@transaction.atomic
def invitation_accept(*, user, invitation_id) -> Membership:
    """The invited user joins: the membership becomes ACTIVE and its roles take effect."""
    invitation = _own_invitation(user=user, invitation_id=invitation_id)
    invitation.status = MembershipStatus.ACTIVE
    invitation.save(update_fields=["status", "updated_at"])
    return invitation


@transaction.atomic
def invitation_decline(*, user, invitation_id) -> None:
    """Declining deletes the invitation; the tenant may invite again later."""
    _own_invitation(user=user, invitation_id=invitation_id).delete()


@transaction.atomic
def own_password_reset(*, user, current_password, new_password):
    if not user.check_password(current_password):
        raise errors.ValidationFailed("current_password: incorrect password",
                                      details={"current_password": ["Incorrect password."]})
    validate_new_password(new_password, user=user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    revoke_refresh_tokens(user)
    return user


def _clean_permissions(permissions):
    cleaned = []
    for raw in permissions:
        try:
            cleaned.append(Permission(raw).value)
        except ValueError:
            raise errors.ValidationFailed(
                f"permissions: unknown permission {raw!r}",
                details={"permissions": [f"{raw!r} is not a known permission."]},
            ) from None
    if not cleaned:
        raise errors.ValidationFailed("permissions: at least one permission is required",
                                      details={"permissions": ["At least one permission is required."]})
    return sorted(set(cleaned))


@transaction.atomic
def api_key_create(*, tenant, creator, name, permissions, expires_at=None, calling_key=None):
    """Returns (api_key, plaintext). The plaintext exists only in this return value.

    A key grants at most what its creator holds now; created through a key (`calling_key`), at most what that
    key holds too, so a key can never mint a stronger one.
    """
    cleaned = _clean_permissions(permissions)
    held = user_permissions_in(creator, tenant)
    if calling_key is not None:
        held &= frozenset(calling_key.permissions)
    not_held = [p for p in cleaned if p not in held]
    if not_held:
        raise errors.PermissionDenied(f"You cannot grant permissions you do not hold: {', '.join(not_held)}")
    if expires_at is not None and expires_at <= timezone.now():
        raise errors.ValidationFailed("expires_at: must be in the future",
                                      details={"expires_at": ["Must be in the future."]})
    plaintext = ApiKey.PREFIX + secrets.token_hex(28)
    key = ApiKey.objects.create(
        tenant=tenant, name=name, permissions=cleaned, created_by=creator, expires_at=expires_at,
        key_prefix=plaintext[: len(ApiKey.PREFIX) + 8], key_hash=ApiKey.hash_key(plaintext),
    )
    return key, plaintext


@transaction.atomic
def api_key_revoke_by(*, tenant, actor_user, key_id, may_manage_users: bool) -> ApiKey:
    """Revoke the actor's own key, or (holding CREATE_USER: `may_manage_users`) a key of a user they may manage
    (a strictly lower role level, SPEC 11.6). Keys of others are not found by a caller who may not manage users."""
    key = ApiKey.objects.for_tenant(tenant).select_related("created_by").filter(pk=key_id).first()
    own = key is not None and key.created_by_id == actor_user.id
    if key is None or not (own or may_manage_users):
        raise errors.NotFound("API key not found")
    if not own:
        _check_may_manage(tenant=tenant, actor_user=actor_user, target=key.created_by)
    return api_key_revoke(key=key)


@transaction.atomic
def api_key_revoke(*, key):
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None or not key.is_active:
        raise errors.IllegalTransition("This API key is already revoked")
    key.is_active = False
    key.revoked_at = timezone.now()
    key.save(update_fields=["is_active", "revoked_at", "updated_at"])
    return key
