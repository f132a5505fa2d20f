"""Activities (SPEC section 4): the lifecycle, what each activity targets and carries, and its audit trail."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from reten.models import TenantOwnedModel, TimestampedModel


class Channel(models.TextChoices):
    """Where an activity goes: a field visit or call (TASK) or a message. A property of the activity."""


    SALESMAN = "SALESMAN"
    CALLCENTER = "CALLCENTER"
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"


class ActivityType(models.TextChoices):
    TASK = "TASK"
    MESSAGE = "MESSAGE"


class ActivityStatus(models.TextChoices):
    READY = "READY"
    UNRESOLVED = "UNRESOLVED"
    DISPATCHED = "DISPATCHED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"


TERMINAL_STATUSES = frozenset({ActivityStatus.COMPLETED, ActivityStatus.CANCELED, ActivityStatus.FAILED})

S = ActivityStatus


class Activity(ConcurrentTransitionMixin, TenantOwnedModel):
    """One unit of work or communication for one commerce. Only the @transition methods change `status`."""

    # Every query starts from the tenant, and each composite index below leads with it, so the foreign key's own
    # index would only cost writes: every insert and every non-HOT update (a claim, a recorded outcome) writes an
    # entry in each of the table's indexes (issue 15).
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+", db_index=False)
    type = models.CharField(max_length=8, choices=ActivityType.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = FSMField(max_length=16, choices=ActivityStatus.choices, default=ActivityStatus.READY, protected=True)
    reason = models.TextField()
    idempotency_key = models.CharField(max_length=255)
    # SHA-256 of the normalised create body: a replay must carry the same body (SPEC 4.3).
    request_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    scheduled_at = models.DateTimeField()
    suggested_execution_time = models.DateTimeField(null=True, blank=True)
    user_status = models.CharField(max_length=64, null=True, blank=True)
    score = models.IntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    dispatch_config = models.ForeignKey("dispatch.DispatchConfig", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="activities")
    # Looked up per tenant (activity_tenant_provider_idx); searched by a trigram index (migration 0009).
    provider_activity_id = models.CharField(max_length=255, null=True, blank=True)
    dispatch_attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_dispatch_error = models.TextField(blank=True, default="")
    # The event type that put the activity in FAILED (DISPATCH_FAILED, EXECUTION_FAILED, HARD_OVERRIDE), set by
    # the transitions: force retry (SPEC 11.3) asks it instead of reading the event trail.
    failed_by = models.CharField(max_length=32, blank=True, default="", editable=False)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Results (SPEC 6.1): the activity a follow-up result created this one from, and the latest result
    # (by occurred_at), kept here so lists show and filter on it with a join instead of a subquery per row.
    follow_up_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="follow_ups")
    last_result = models.ForeignKey("activities.TaskResult", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    # Delivery receipts (SPEC 6.2): the latest receipt (by occurred_at), so `deliveryStatus` costs a join.
    last_receipt = models.ForeignKey("activities.DeliveryReceipt", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="activity_tenant_idempotency_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "next_attempt_at", "scheduled_at"], name="activity_dispatch_idx"),
            # The list's orderings with their tie-breakers (SPEC 4.4), so a page is read in index order and a deep
            # page skips its OFFSET in the index: -created_at (backward: created_at), scheduled_at (backward:
            # -scheduled_at, its ties sorted incrementally). The score orderings are in migration 0008 (NULLS LAST).
            models.Index(fields=["tenant", "-created_at", "id"], name="activity_tenant_created_id_idx"),
            models.Index(fields=["tenant", "scheduled_at", "-created_at", "id"], name="activity_tenant_sched_id_idx"),
            models.Index(fields=["tenant", "provider_activity_id"], name="activity_tenant_provider_idx"),
            # The integration task list (SPEC 6.4). The search and score-ordering indexes are PostgreSQL-only,
            # made by migration 0008 (pg_trgm), so they are not declared here.
            models.Index(fields=["tenant", "type", "scheduled_at", "id"], name="activity_tenant_type_sched_idx"),
            # ... and its status filter: PENDING (READY) tasks are the newest, at the far end of scheduled_at order.
            models.Index(fields=["tenant", "type", "status", "scheduled_at", "id"], name="activity_type_status_idx"),
        ]
        # Not expressible here: PostgreSQL statistics on the creation day the reports group by
        # (activity_created_day_stats, migration 0008).

    def __str__(self):
        return f"{self.type} {self.channel} {self.status} ({self.pk})"

    @property
    def is_terminal(self):
        return self.status in TERMINAL_STATUSES

    # --- The transitions of SPEC 4.2. Services call them under a row lock and write the status event. ---

    @transition(field=status, source=S.READY, target=S.UNRESOLVED, custom={"admin": False})
    def resolution_failed(self):
        """A target user or attribute could not be resolved (at creation or right before dispatch)."""

    @transition(field=status, source=S.UNRESOLVED, target=S.READY,
                custom={"admin": True, "label": "Retry resolution",
                        "help_text": "Resolve what is pending again; READY only if everything resolves."})
    def resolution_retried(self):
        """Everything that was pending resolved (retry-resolution, a manual target user or attribute value)."""

    @transition(field=status, source=S.READY, target=S.DISPATCHED,
                custom={"admin": True, "label": "Dispatch now",
                        "help_text": "Send this READY TASK to its provider now (a failure counts as an attempt)."})
    def dispatch_succeeded(self):
        """A provider accepted the activity."""

    @transition(field=status, source=S.READY, target=S.FAILED, custom={"admin": False})
    def dispatch_exhausted(self):
        """The last allowed dispatch attempt failed, or the provider refused it for good (SPEC 11.2)."""
        self.failed_by = EventType.DISPATCH_FAILED

    @property
    def can_force_retry_dispatch(self):
        """FAILED because dispatch gave up, not because a result, a receipt or an override said so (SPEC 11.3)."""
        return self.status == S.FAILED and self.failed_by == EventType.DISPATCH_FAILED

    @transition(field=status, source=S.FAILED, target=S.READY,
                conditions=[lambda activity: activity.can_force_retry_dispatch],
                custom={"admin": True, "label": "Force retry",
                        "help_text": "Dispatch this activity again from its first attempt (dispatch failures only)."})
    def force_retry_dispatch(self):
        """A dispatch failure is given another full round of attempts (SPEC 11.3)."""
        self.failed_by = ""

    @transition(field=status, source=S.READY, target=S.CANCELED,
                custom={"admin": True, "label": "Cancel", "help_text": "Cancel this READY activity."})
    def cancel(self):
        """Manual cancellation (API, admin, command)."""

    @transition(field=status, source=S.DISPATCHED, target=S.COMPLETED, custom={"admin": False})
    def result_completed(self):
        """Result COMPLETED or TRANSFERRED (integration: EFFECTIVE, NOT_EFFECTIVE)."""

    @transition(field=status, source=S.DISPATCHED, target=S.FAILED, custom={"admin": False})
    def result_not_executed(self):
        """Result NOT_EXECUTED."""
        self.failed_by = EventType.EXECUTION_FAILED

    @transition(field=status, source=S.DISPATCHED, target=S.CANCELED, custom={"admin": False})
    def result_canceled(self):
        """Result CANCELED."""

    @transition(field=status, source=S.DISPATCHED, target=S.COMPLETED, custom={"admin": False})
    def delivery_confirmed(self):
        """MESSAGE: a delivery receipt DELIVERED or READ, or a completeOnAccept provider accepted it (SPEC 6.2)."""

    @transition(field=status, source=S.DISPATCHED, target=S.FAILED, custom={"admin": False})
    def delivery_failed(self):
        """MESSAGE: a delivery receipt FAILED, UNDELIVERED or BOUNCED (SPEC 6.2)."""

    @transition(field=status, source="*", target=RETURN_VALUE(*ActivityStatus.values), custom={"admin": False})
    def hard_override(self, to_status):
        """A result with hard_override: from any state to the one its status maps to (event HARD_OVERRIDE)."""
        self.failed_by = EventType.HARD_OVERRIDE if to_status == S.FAILED else ""
        return to_status


class TenantActivityCount(models.Model):
    """How many activities a tenant has, for the unfiltered list's exact `meta.total` without a COUNT(*) over the
    tenant's rows (issue 15). On PostgreSQL, statement triggers on activities_activity keep it (migration 0010):
    each INSERT (COPY too) adds its rows per tenant and each DELETE takes them away, in the writer's transaction,
    so the sum is exactly what COUNT(*) sees under the same snapshot. A tenant's count is spread over a few slots
    (the writer's backend pid modulo COUNT_SLOTS) so concurrent creators do not queue on one row. Elsewhere (the
    embedded SQLite) nothing fills it and the list counts. `manage.py recount_activities` rebuilds it (after a
    restore that ran without triggers, for instance)."""

    COUNT_SLOTS = 16

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, db_constraint=False, related_name="+")
    slot = models.PositiveSmallIntegerField()
    total = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slot"], name="activity_count_tenant_slot_unique"),
        ]

    def __str__(self):
        return f"{self.tenant_id} slot {self.slot}: {self.total}"


class CommerceAssignment(TimestampedModel):
    """Exactly one per activity: the commerce the activity is for."""

    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="commerce_assignment")
    commerce = models.ForeignKey("commerces.Commerce", on_delete=models.PROTECT, related_name="activity_assignments")
    assignment_reason = models.TextField(blank=True, default="")
    assigned_at = models.DateTimeField()

    def __str__(self):
        return f"{self.commerce_id} for {self.activity_id}"


class TaskDetails(TimestampedModel):
    """TASK activities only: who executes the task, on which route."""

    activity = models.OneToOneField(Activity, on_delete=models.CASCADE, related_name="task_details")
    route = models.ForeignKey("commerces.Route", on_delete=models.PROTECT, related_name="task_details")
    operator = models.ForeignKey("commerces.Operator", on_delete=models.PROTECT, related_name="task_details")

    class Meta:
        verbose_name_plural = "task details"

    def __str__(self):
        return f"route {self.route_id} / operator {self.operator_id}"


class ResolutionStrategy(models.TextChoices):
    ON_CREATION = "ON_CREATION"
    ON_DISPATCH = "ON_DISPATCH"
    MANUAL = "MANUAL"


class TargetResolutionStatus(models.TextChoices):
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"
    LOCKED = "LOCKED"
    FAILED = "FAILED"


class LockReason(models.TextChoices):
    CRITERIA_MATCH = "CRITERIA_MATCH"
    FALLBACK_COMMERCE_REP = "FALLBACK_COMMERCE_REP"
    FALLBACK_OWNER = "FALLBACK_OWNER"
    MANUAL_ASSIGNMENT = "MANUAL_ASSIGNMENT"


class CriterionType(models.TextChoices):
    ROLE_MATCH = "ROLE_MATCH"
    LAST_CONTACTED_SAME_CHANNEL = "LAST_CONTACTED_SAME_CHANNEL"
    LAST_CONTACTED_ALL_CHANNELS = "LAST_CONTACTED_ALL_CHANNELS"


class TargetResolutionConfig(TenantOwnedModel):
    """How a tenant picks the people an activity targets. Each active config yields one target user."""

    resolution_strategy = models.CharField(max_length=16, choices=ResolutionStrategy.choices,
                                           default=ResolutionStrategy.ON_CREATION)
    fallback_to_commerce_rep = models.BooleanField(default=True)
    fallback_to_owner = models.BooleanField(default=True)
    priority = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    criteria = models.JSONField(default=list, blank=True, help_text='[{"type", "config", "priority"}]')

    class Meta:
        ordering = ["priority", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "priority"], name="target_resolution_active_priority_unique",
                                    condition=Q(is_active=True)),
        ]

    def __str__(self):
        return f"{self.resolution_strategy} (priority {self.priority})"


class TargetUser(TimestampedModel):
    """A person the activity is for. Keeps the criteria it was resolved with, so a retry resolves alike."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="target_users")
    commerce_user = models.ForeignKey("commerces.CommerceUser", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="targeted_by")
    resolution_status = models.CharField(max_length=16, choices=TargetResolutionStatus.choices,
                                         default=TargetResolutionStatus.PENDING)
    resolution_strategy = models.CharField(max_length=16, choices=ResolutionStrategy.choices,
                                           default=ResolutionStrategy.ON_CREATION)
    lock_reason = models.CharField(max_length=32, choices=LockReason.choices, null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    config = models.ForeignKey(TargetResolutionConfig, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    criteria = models.JSONField(default=list, blank=True)
    fallback_to_commerce_rep = models.BooleanField(default=True)
    fallback_to_owner = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    error_message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["commerce_user", "activity"], name="target_user_user_idx")]

    def __str__(self):
        return f"{self.resolution_status} {self.commerce_user_id or '-'}"


class AttributeKey(TimestampedModel):
    """The global catalogue of data an activity can carry (seeded by a migration)."""

    key = models.CharField(max_length=100, unique=True)
    label = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key


class AttributeStrategy(models.TextChoices):
    UPFRONT = "UPFRONT"
    ON_DISPATCH = "ON_DISPATCH"
    CALLER_PROVIDED = "CALLER_PROVIDED"


class ResolverType(models.TextChoices):
    INTERNAL_SERVICE = "INTERNAL_SERVICE"
    CLIENT_HOOK = "CLIENT_HOOK"


class AttributePolicy(TenantOwnedModel):
    """How one tenant resolves one attribute key. A key without a policy is UPFRONT / INTERNAL_SERVICE."""

    attribute_key = models.ForeignKey(AttributeKey, on_delete=models.CASCADE, related_name="policies")
    strategy = models.CharField(max_length=16, choices=AttributeStrategy.choices, default=AttributeStrategy.UPFRONT)
    resolver_type = models.CharField(max_length=16, choices=ResolverType.choices,
                                     default=ResolverType.INTERNAL_SERVICE)
    hook_url = models.URLField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["attribute_key__key"]
        verbose_name_plural = "attribute policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "attribute_key"], name="attribute_policy_tenant_key_unique"),
        ]

    def __str__(self):
        return f"{self.attribute_key_id}: {self.strategy}/{self.resolver_type}"


class AttributeResolutionStatus(models.TextChoices):
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"
    FAILED = "FAILED"
    FALLBACK = "FALLBACK"


CALLER_PROVIDED_RESOLVER = "CALLER_PROVIDED"
MANUAL_RESOLVER = "MANUAL"  # a value set by hand (PATCH .../attributes/:id/resolve, the admin)


class ActivityAttribute(TimestampedModel):
    """One piece of data the activity carries, with how (and whether) it was resolved."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attributes")
    attribute_key = models.ForeignKey(AttributeKey, on_delete=models.PROTECT, related_name="+")
    value = models.JSONField(null=True, blank=True)
    resolution_status = models.CharField(max_length=16, choices=AttributeResolutionStatus.choices,
                                         default=AttributeResolutionStatus.PENDING)
    strategy = models.CharField(max_length=16, choices=AttributeStrategy.choices, default=AttributeStrategy.UPFRONT)
    resolver_type = models.CharField(max_length=32, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True, default="")
    fallback = models.JSONField(null=True, blank=True)
    has_fallback = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "attribute_key__key"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "attribute_key"], name="activity_attribute_key_unique"),
        ]

    def __str__(self):
        return f"{self.attribute_key_id}={self.value!r} ({self.resolution_status})"


class EventType(models.TextChoices):
    CREATED = "CREATED"
    RESOLUTION_FAILED = "RESOLUTION_FAILED"
    RESOLUTION_RETRY_SUCCESS = "RESOLUTION_RETRY_SUCCESS"
    RESOLUTION_RETRY_FAILED = "RESOLUTION_RETRY_FAILED"
    TARGET_USER_RESOLVED = "TARGET_USER_RESOLVED"
    ATTRIBUTE_RESOLVED = "ATTRIBUTE_RESOLVED"
    DISPATCH_ATTEMPT_FAILED = "DISPATCH_ATTEMPT_FAILED"
    DISPATCH_SUCCESS = "DISPATCH_SUCCESS"
    DISPATCH_FAILED = "DISPATCH_FAILED"
    CANCELED = "CANCELED"
    RESULT_RECEIVED = "RESULT_RECEIVED"
    COMPLETED = "COMPLETED"
    EXECUTION_FAILED = "EXECUTION_FAILED"
    HARD_OVERRIDE = "HARD_OVERRIDE"
    DELIVERY_RECEIPT = "DELIVERY_RECEIPT"
    FORCE_RETRY = "FORCE_RETRY"


class ActorType(models.TextChoices):
    USER = "USER"
    API_KEY = "API_KEY"
    SYSTEM = "SYSTEM"


class StatusEvent(models.Model):
    """Append-only audit trail, written in the same transaction as the change it records."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="status_events")
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    from_status = models.CharField(max_length=16, choices=ActivityStatus.choices, null=True, blank=True)
    to_status = models.CharField(max_length=16, choices=ActivityStatus.choices, null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    actor_type = models.CharField(max_length=8, choices=ActorType.choices, default=ActorType.SYSTEM)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_api_key = models.ForeignKey("tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["occurred_at"]
        indexes = [models.Index(fields=["activity", "occurred_at"], name="status_event_activity_idx")]

    def __str__(self):
        return f"{self.event_type} {self.from_status or '-'} -> {self.to_status or '-'}"


class UserRetentionStatus(TenantOwnedModel):
    """A tenant's catalogue of retention statuses for commerce users (the activity's `user_status`)."""

    code = models.CharField(max_length=64)
    label = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "user retention statuses"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="user_retention_status_tenant_code_unique"),
        ]

    def __str__(self):
        return f"{self.code} ({self.label})"


# --- Results (SPEC 6) -------------------------------------------------------------------------------------------


class TaskResultType(TenantOwnedModel):
    """A tenant's catalogue of task outcomes (`task_result.result` of a posted result)."""

    code = models.CharField(max_length=64)
    label = models.CharField(max_length=255)
    requires_future_scheduled_at = models.BooleanField(default=False)
    creates_follow_up = models.BooleanField(default=False, help_text="Needs requires_future_scheduled_at.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="task_result_type_tenant_code_unique"),
            models.CheckConstraint(condition=Q(creates_follow_up=False) | Q(requires_future_scheduled_at=True),
                                   name="task_result_type_follow_up_needs_date"),
        ]

    def __str__(self):
        return f"{self.code} ({self.label})"


class ResultSource(models.TextChoices):
    RETEN_ACTIVITY = "RETEN_ACTIVITY"
    STANDALONE = "STANDALONE"


class TaskResultStatus(models.TextChoices):
    # Internal vocabulary
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    NOT_EXECUTED = "NOT_EXECUTED"
    CANCELED = "CANCELED"
    TRANSFERRED = "TRANSFERRED"
    # Integration vocabulary (PENDING is shared): both mean the task was executed
    EFFECTIVE = "EFFECTIVE"
    NOT_EFFECTIVE = "NOT_EFFECTIVE"


# The activity status each result status leads to (SPEC 4.2); PENDING records and changes nothing.
RESULT_STATUS_TARGETS = {
    TaskResultStatus.PENDING: None,
    TaskResultStatus.COMPLETED: ActivityStatus.COMPLETED,
    TaskResultStatus.TRANSFERRED: ActivityStatus.COMPLETED,
    TaskResultStatus.EFFECTIVE: ActivityStatus.COMPLETED,
    TaskResultStatus.NOT_EFFECTIVE: ActivityStatus.COMPLETED,
    TaskResultStatus.NOT_EXECUTED: ActivityStatus.FAILED,
    TaskResultStatus.CANCELED: ActivityStatus.CANCELED,
}


class ContactDirection(models.TextChoices):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


class TaskResult(TenantOwnedModel):
    """What a provider (or a back-office user) reports about a TASK. Append-only."""

    source = models.CharField(max_length=16, choices=ResultSource.choices)
    activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.CASCADE, related_name="results")
    commerce = models.ForeignKey("commerces.Commerce", on_delete=models.PROTECT, related_name="task_results")
    provider_activity_id = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=16, choices=TaskResultStatus.choices)
    external_status = models.CharField(max_length=255, null=True, blank=True)
    occurred_at = models.DateTimeField()
    hard_override = models.BooleanField(default=False)
    result_type = models.ForeignKey(TaskResultType, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="results")
    result_code = models.CharField(max_length=64)
    comment = models.TextField(null=True, blank=True)
    contact_type = models.CharField(max_length=8, choices=ContactDirection.choices, null=True, blank=True)
    operator_external_id = models.CharField(max_length=255, null=True, blank=True)
    future_scheduled_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(null=True, blank=True)
    raw_payload = models.JSONField(null=True, blank=True)
    follow_up_activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+")
    actor_type = models.CharField(max_length=8, choices=ActorType.choices, default=ActorType.SYSTEM)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_api_key = models.ForeignKey("tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    # SHA-256 of what makes a resend the same result: unique per tenant, so concurrent resends store one row.
    dedupe_key = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "dedupe_key"], name="task_result_tenant_dedupe_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "occurred_at"], name="task_result_occurred_idx"),
            models.Index(fields=["activity", "occurred_at"], name="task_result_activity_idx"),
            models.Index(fields=["tenant", "commerce", "provider_activity_id"], name="task_result_standalone_idx"),
        ]
        # Not declared here (PostgreSQL-only, migration 0012): the covering index the reports read a last result
        # through, task_result_report_cover_idx (id) INCLUDE (result_code, status, created_at).

    def __str__(self):
        return f"{self.status} {self.result_code} ({self.source})"


# --- Delivery receipts (SPEC 6.2) -------------------------------------------------------------------------------


class ReceiptStatus(models.TextChoices):
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
    UNDELIVERED = "UNDELIVERED"
    BOUNCED = "BOUNCED"


# The activity status each receipt status leads a DISPATCHED message to (SPEC 4.2); SENT records only.
RECEIPT_STATUS_TARGETS = {
    ReceiptStatus.SENT: None,
    ReceiptStatus.DELIVERED: ActivityStatus.COMPLETED,
    ReceiptStatus.READ: ActivityStatus.COMPLETED,
    ReceiptStatus.FAILED: ActivityStatus.FAILED,
    ReceiptStatus.UNDELIVERED: ActivityStatus.FAILED,
    ReceiptStatus.BOUNCED: ActivityStatus.FAILED,
}


class DeliveryReceipt(models.Model):
    """What a provider reports about a MESSAGE. Append-only; a resend (activity, status, occurred_at) is one row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="delivery_receipts")
    status = models.CharField(max_length=16, choices=ReceiptStatus.choices)
    occurred_at = models.DateTimeField()
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    raw_payload = models.JSONField(null=True, blank=True)
    actor_type = models.CharField(max_length=8, choices=ActorType.choices, default=ActorType.SYSTEM)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_api_key = models.ForeignKey("tenants.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "status", "occurred_at"], name="delivery_receipt_unique"),
        ]

    def __str__(self):
        return f"{self.status} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
