"""Roles and permissions (SPEC section 2). The code is the single source of what each role may do."""
from enum import StrEnum


class Permission(StrEnum):
    CREATE_USER = "CREATE_USER"
    UPDATE_USER = "UPDATE_USER"
    RESET_USER_PASSWORD = "RESET_USER_PASSWORD"
    VIEW_USERS = "VIEW_USERS"
    DELETE_USER = "DELETE_USER"
    CREATE_TENANT = "CREATE_TENANT"
    UPDATE_TENANT = "UPDATE_TENANT"
    DELETE_TENANT = "DELETE_TENANT"
    VIEW_TENANTS = "VIEW_TENANTS"
    MANAGE_COMMERCES = "MANAGE_COMMERCES"
    MANAGE_OPERATORS = "MANAGE_OPERATORS"
    MANAGE_ROUTES = "MANAGE_ROUTES"
    SYNC_COMMERCES = "SYNC_COMMERCES"
    SYNC_OPERATORS = "SYNC_OPERATORS"
    VIEW_ACTIVITIES = "VIEW_ACTIVITIES"
    CREATE_ACTIVITY = "CREATE_ACTIVITY"
    CANCEL_ACTIVITY = "CANCEL_ACTIVITY"
    DISPATCH_ACTIVITY = "DISPATCH_ACTIVITY"
    MANAGE_ACTIVITY_CONFIG = "MANAGE_ACTIVITY_CONFIG"
    SUBMIT_ACTIVITY_RESULT = "SUBMIT_ACTIVITY_RESULT"
    MANAGE_API_KEYS = "MANAGE_API_KEYS"


class RoleName(StrEnum):
    SUPER_ADMIN = "SUPER_ADMIN"
    ADMIN = "ADMIN"
    FDE = "FDE"
    VIEWER = "VIEWER"


P = Permission
ALL_PERMISSIONS = frozenset(Permission)

ROLE_LEVELS = {RoleName.SUPER_ADMIN: 1, RoleName.ADMIN: 2, RoleName.FDE: 3, RoleName.VIEWER: 4}
# A user with no role in a tenant ranks below every role.
NO_ROLE_LEVEL = 99

ROLE_DESCRIPTIONS = {
    RoleName.SUPER_ADMIN: "Platform administrator, valid in every tenant.",
    RoleName.ADMIN: "Tenant administrator: users, API keys, configuration, dispatch and results.",
    RoleName.FDE: "Field deployment engineer: directory and activity creation.",
    RoleName.VIEWER: "Read-only access to activities.",
}

ROLE_PERMISSIONS = {
    RoleName.SUPER_ADMIN: ALL_PERMISSIONS,
    RoleName.ADMIN: frozenset({
        P.CREATE_USER, P.UPDATE_USER, P.RESET_USER_PASSWORD, P.VIEW_USERS, P.VIEW_TENANTS,
        P.MANAGE_COMMERCES, P.MANAGE_OPERATORS, P.MANAGE_ROUTES, P.SYNC_COMMERCES, P.SYNC_OPERATORS,
        P.VIEW_ACTIVITIES, P.CREATE_ACTIVITY, P.CANCEL_ACTIVITY, P.DISPATCH_ACTIVITY,
        P.MANAGE_ACTIVITY_CONFIG, P.SUBMIT_ACTIVITY_RESULT, P.MANAGE_API_KEYS,
    }),
    RoleName.FDE: frozenset({
        P.VIEW_USERS, P.MANAGE_COMMERCES, P.MANAGE_OPERATORS, P.MANAGE_ROUTES,
        P.VIEW_ACTIVITIES, P.CREATE_ACTIVITY,
    }),
    RoleName.VIEWER: frozenset({P.VIEW_ACTIVITIES}),
}

# Roles a membership may hold; SUPER_ADMIN lives on the user (is_superuser), not on a membership.
TENANT_ROLES = (RoleName.ADMIN, RoleName.FDE, RoleName.VIEWER)


def permissions_of(role_names):
    granted = set()
    for name in role_names:
        granted |= ROLE_PERMISSIONS[RoleName(name)]
    return frozenset(granted)


def level_of(role_names):
    return min((ROLE_LEVELS[RoleName(name)] for name in role_names), default=NO_ROLE_LEVEL)
