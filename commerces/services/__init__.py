"""State changes for the commerce directory, one module per noun: commerces, people (users, roles, contacts),
addresses, the commerce sync, operators (and their sync), routes. Import from here: `from commerces import services`.

Every service is keyword-only, runs in one transaction and raises `reten.errors` exceptions. Field shapes
(types, lengths, enums) are checked by the API serializers; the rules here are the domain's: contact values
per type, one primary per kind, uniqueness per tenant, and the all-or-nothing bulk syncs.
"""
from commerces.services.addresses import (
    address_create,
    address_save,
    address_update,
    clean_address_fields,
    coordinate_clean,
)
from commerces.services.commerces import (
    commerce_create,
    commerce_update,
)
from commerces.services.common import (
    ADDRESS_FIELDS,
    ADDRESS_IDENTITY_FIELDS,
    COMMERCE_FIELDS,
    COMMERCE_USER_FIELDS,
    COORDINATE_STEP,
    E164_PATTERN,
    E164_PROBLEM,
    OPERATOR_FIELDS,
    PHONE_SEPARATORS,
    ROUTE_FIELDS,
    SYNC_MAX_ITEMS,
    SyncResult,
    apply_values,
    blank_to_none,
    check_batch_size,
    conflict,
    contact_value_clean,
    fail,
    merge_metadata,
    phone_clean,
    save_or_conflict,
    write_rows,
)
from commerces.services.operators import (
    operator_create,
    operator_sync,
    operator_update,
)
from commerces.services.people import (
    clean_contacts,
    commerce_user_create,
    commerce_user_role_add,
    commerce_user_role_remove,
    commerce_user_update,
    contact_create,
    contact_save,
)
from commerces.services.routes import (
    route_create,
    route_operator_assign,
    route_operator_remove,
    route_update,
)
from commerces.services.sync import (
    commerce_sync,
)

__all__ = [
    "ADDRESS_FIELDS",
    "ADDRESS_IDENTITY_FIELDS",
    "COMMERCE_FIELDS",
    "COMMERCE_USER_FIELDS",
    "COORDINATE_STEP",
    "E164_PATTERN",
    "E164_PROBLEM",
    "OPERATOR_FIELDS",
    "PHONE_SEPARATORS",
    "ROUTE_FIELDS",
    "SYNC_MAX_ITEMS",
    "SyncResult",
    "address_create",
    "address_save",
    "address_update",
    "apply_values",
    "blank_to_none",
    "check_batch_size",
    "clean_address_fields",
    "clean_contacts",
    "commerce_create",
    "commerce_sync",
    "commerce_update",
    "commerce_user_create",
    "commerce_user_role_add",
    "commerce_user_role_remove",
    "commerce_user_update",
    "conflict",
    "contact_create",
    "contact_save",
    "contact_value_clean",
    "coordinate_clean",
    "fail",
    "merge_metadata",
    "operator_create",
    "operator_sync",
    "operator_update",
    "phone_clean",
    "route_create",
    "route_operator_assign",
    "route_operator_remove",
    "route_update",
    "save_or_conflict",
    "write_rows",
]
