"""State-changing services of the activities app. Import from here: `from activities.services import ...`."""
from activities.services.bulk import activity_bulk_operate
from activities.services.config import (
    attribute_policy_upsert,
    target_resolution_config_create,
    target_resolution_config_delete,
    target_resolution_config_update,
    user_retention_status_create,
)
from activities.services.counts import activity_counts_rebuild
from activities.services.creation import activity_bulk_create, activity_create
from activities.services.events import build_status_event, record_status_event
from activities.services.receipts import delivery_receipt_submit, delivery_receipts_submit
from activities.services.resolution import (
    activity_resolve_before_dispatch,
    activity_retry_resolution,
    activity_retry_resolution_preview,
    attribute_resolve,
    ready_if_nothing_blocks,
    target_user_resolve,
)
from activities.services.result_types import task_result_type_create, task_result_type_update
from activities.services.results import task_result_submit
from activities.services.transitions import activity_cancel, activity_force_retry_dispatch, lock_activity

__all__ = [
    "activity_bulk_operate",
    "activity_bulk_create",
    "activity_counts_rebuild",
    "activity_cancel",
    "activity_create",
    "activity_force_retry_dispatch",
    "activity_resolve_before_dispatch",
    "activity_retry_resolution",
    "activity_retry_resolution_preview",
    "attribute_policy_upsert",
    "attribute_resolve",
    "build_status_event",
    "delivery_receipt_submit",
    "delivery_receipts_submit",
    "lock_activity",
    "ready_if_nothing_blocks",
    "record_status_event",
    "target_resolution_config_create",
    "target_resolution_config_delete",
    "target_resolution_config_update",
    "target_user_resolve",
    "task_result_submit",
    "task_result_type_create",
    "task_result_type_update",
    "user_retention_status_create",
]
