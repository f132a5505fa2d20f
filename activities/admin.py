"""Back office for activities (SPEC 7): read, cancel, retry resolution, force retry, dispatch now; manage the
activity configuration. Status is never edited by hand: the buttons at the top of the activity page (each with a
confirmation page, Cancel with a reason) and the bulk actions call the same services as the API, with the
permissions of SPEC 2 in the activity's tenant."""
from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.decorators import action
from unfold.utils import display_for_label

from activities import hooks, services
from activities.admin_io import ActivityImportExportMixin, TaskResultExportMixin
from activities.models import (
    Activity,
    ActivityAttribute,
    ActivityStatus,
    ActivityType,
    AttributeKey,
    AttributePolicy,
    AttributeResolutionStatus,
    CommerceAssignment,
    DeliveryReceipt,
    ResolverType,
    StatusEvent,
    TargetResolutionConfig,
    TargetResolutionStatus,
    TargetUser,
    TaskDetails,
    TaskResult,
    TaskResultType,
    UserRetentionStatus,
)
from activities.resolution.targets import validate_criteria
from activities.services.bulk import MAX_BULK_IDS
from commerces.models import CommerceUser
from reten.errors import DomainError
from reten.urlsafety import url_problem
from tenants.actors import Actor
from tenants.console import (
    ANY_MEMBER,
    GLOBAL,
    ConsoleModelAdmin,
    ConsoleTabularInline,
    console_permissions,
    is_tenant_staff,
    short_label,
)
from tenants.models import Tenant
from tenants.roles import Permission

# Badge colours of each status (unfold's labels: the 700 shade on its 100 tint, 4.5:1 to 6:1 by Tailwind's
# palette); the status name is always written out, so colour is never the only signal.
STATUS_BADGES = {
    ActivityStatus.UNRESOLVED: "warning",
    ActivityStatus.READY: "info",
    ActivityStatus.DISPATCHED: "primary",
    ActivityStatus.COMPLETED: "success",
    ActivityStatus.FAILED: "danger",
    ActivityStatus.CANCELED: "default",
}
for _status in ActivityStatus.values:
    STATUS_BADGES.setdefault(_status, "default")


def activity_label(activity):
    """`<commerce name> · <short id>`: how a row names an activity instead of a bare UUID."""
    assignment = getattr(activity, "commerce_assignment", None)
    name = assignment.commerce.name if assignment is not None else activity.get_type_display()
    return short_label(name, activity.pk)


def status_badge_html(status):
    """The coloured badge of an activity status (unfold's label), the same on the list and the page."""
    return display_for_label(status, "-", STATUS_BADGES)


def admin_link(url, text):
    """A link of the console, styled as one (text escaped)."""
    return format_html('<a class="text-primary-600 underline" href="{}">{}</a>', url, text)


def activity_link(activity):
    if activity is None:
        return "-"
    return admin_link(reverse("admin:activities_activity_change", args=[activity.pk]),
                      activity_label(activity))


class LinksToActivity:
    """List rows of an activity's children name it by commerce and short id, linked to its page."""

    @admin.display(description="activity")
    def activity_column(self, row):
        return activity_link(row.activity)


class ReadOnlyInline(ConsoleTabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CommerceAssignmentInline(ReadOnlyInline):
    model = CommerceAssignment
    fields = ["commerce", "assignment_reason", "assigned_at"]
    readonly_fields = fields


class TaskDetailsInline(ReadOnlyInline):
    model = TaskDetails
    fields = ["route", "operator"]
    readonly_fields = fields


REPAIRABLE_ACTIVITY_STATUSES = (ActivityStatus.READY, ActivityStatus.UNRESOLVED)


def _repair_link(row, *, row_status, repairable, url_name, label):
    """A link to the manual action for a row the service would accept (it re-checks everything itself)."""
    if row.pk is None or row_status not in repairable or row.activity.status not in REPAIRABLE_ACTIVITY_STATUSES:
        return "-"
    return format_html('<a class="button" href="{}">{}</a>',
                       reverse(f"admin:{url_name}", args=[row.activity_id, row.pk]), label)


class RepairLinkInline(ReadOnlyInline):
    """An inline whose last column links to a manual repair (CREATE_ACTIVITY): the column is left out for a user
    who may not repair in the activity's tenant (the URL refuses them too)."""

    repair_field = None

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        parent = self._parent_admin()
        if obj is not None and parent is not None and not parent._may(request, Permission.CREATE_ACTIVITY,
                                                                      str(obj.pk)):
            fields = [name for name in fields if name != self.repair_field]
        return fields


class TargetUserInline(RepairLinkInline):
    model = TargetUser
    fields = ["commerce_user", "resolution_status", "resolution_strategy", "lock_reason", "resolved_at",
              "locked_at", "error_message", "manual_assignment"]
    readonly_fields = fields
    repair_field = "manual_assignment"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("commerce_user", "activity")

    @admin.display(description="manual assignment")
    def manual_assignment(self, target):
        return _repair_link(target, row_status=target.resolution_status,
                            repairable=(TargetResolutionStatus.PENDING, TargetResolutionStatus.FAILED),
                            url_name="activities_activity_target_user_resolve", label="Assign a person")


class ActivityAttributeInline(RepairLinkInline):
    model = ActivityAttribute
    fields = ["attribute_key", "value", "resolution_status", "strategy", "resolver_type", "resolved_at",
              "error_message", "manual_value"]
    readonly_fields = fields
    repair_field = "manual_value"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("attribute_key", "activity")

    @admin.display(description="manual value")
    def manual_value(self, attribute):
        return _repair_link(attribute, row_status=attribute.resolution_status,
                            repairable=(AttributeResolutionStatus.PENDING, AttributeResolutionStatus.FAILED),
                            url_name="activities_activity_attribute_resolve", label="Set a value")


class AttributeValueForm(forms.Form):
    value = forms.JSONField(help_text='Any JSON except null: 42, "text", [1, 2], {"daysAgo": 3}.')


class TargetAssignForm(forms.Form):
    commerce_user = forms.ModelChoiceField(queryset=CommerceUser.objects.none(),
                                           help_text="An active person of the activity's commerce.")

    def __init__(self, *args, commerce_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commerce_user"].queryset = CommerceUser.objects.filter(
            commerce_id=commerce_id, is_active=True).order_by("first_name", "last_name")


class StatusEventInline(ReadOnlyInline):
    model = StatusEvent
    fields = ["occurred_at", "event_type", "from_status", "to_status", "error_code", "error_message", "actor_type",
              "actor_user", "actor_api_key"]
    readonly_fields = fields
    ordering = ["occurred_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user", "actor_api_key")


class TaskResultInline(ReadOnlyInline):
    model = TaskResult
    fk_name = "activity"
    fields = ["occurred_at", "status", "result_code", "external_status", "hard_override", "comment",
              "contact_type", "operator_external_id", "future_scheduled_at", "follow_up_activity", "actor_type",
              "created_at"]
    readonly_fields = fields
    ordering = ["occurred_at", "created_at"]


class DeliveryReceiptInline(ReadOnlyInline):
    """SPEC 6.2: what the provider reported about a MESSAGE, oldest first."""

    model = DeliveryReceipt
    fields = ["occurred_at", "status", "error_code", "error_message", "raw_payload", "actor_type", "actor_api_key",
              "created_at"]
    readonly_fields = fields
    ordering = ["occurred_at", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_api_key")


def _actor(request):
    return Actor(user=request.user)


def _dispatch_now(activity, actor):
    hooks.dispatch_now(activity=Activity.objects.get(pk=activity.pk), actor=actor)
    return Activity.objects.get(pk=activity.pk)


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Kept on the status event of the activity.")


class ConfirmForm(forms.Form):
    """Nothing to type: the page itself is the confirmation (a POST with the CSRF token)."""


# The transitions of the activity page: (label, permission of SPEC 2 as the API route, service, form).
TRANSITIONS = {
    "cancel": ("Cancel", Permission.CANCEL_ACTIVITY, ReasonForm,
               lambda activity, actor, data: services.activity_cancel(activity=activity, actor=actor,
                                                                      reason=data["reason"])),
    "retry_resolution": ("Retry resolution", Permission.CREATE_ACTIVITY, ConfirmForm,
                         lambda activity, actor, data: services.activity_retry_resolution(activity=activity,
                                                                                          actor=actor)),
    "force_retry": ("Force retry", Permission.DISPATCH_ACTIVITY, ReasonForm,
                    lambda activity, actor, data: services.activity_force_retry_dispatch(
                        activity=activity, actor=actor, reason=data["reason"])),
    "dispatch_now": ("Dispatch now", Permission.DISPATCH_ACTIVITY, ConfirmForm,
                     lambda activity, actor, data: _dispatch_now(activity, actor)),
}
# Which statuses offer each button (the service re-checks: a stale page gets its refusal as a message).
TRANSITION_FROM = {
    "cancel": (ActivityStatus.READY,),
    "retry_resolution": (ActivityStatus.UNRESOLVED,),
    "force_retry": (ActivityStatus.FAILED,),
    "dispatch_now": (ActivityStatus.READY,),
}


def _bulk(queryset, *, operation, actor, reason="", allowed_tenants=None):
    """The selection through the bulk service of the API (SPEC 11.4), per tenant and in chunks of its id limit.
    Rows of a tenant where the user lacks the permission are skipped as NOT_PERMITTED."""
    changed, skipped = 0, Counter()
    by_tenant = {}
    for pk, tenant_id in queryset.order_by().values_list("pk", "tenant_id"):
        by_tenant.setdefault(tenant_id, []).append(pk)
    for tenant_id, ids in by_tenant.items():
        if allowed_tenants is not None and tenant_id not in allowed_tenants:
            skipped["NOT_PERMITTED"] += len(ids)
            continue
        for start in range(0, len(ids), MAX_BULK_IDS):
            result = services.activity_bulk_operate(tenant=Tenant(pk=tenant_id), actor=actor, operation=operation,
                                                    ids=ids[start:start + MAX_BULK_IDS], reason=reason)
            changed += result.changed
            skipped.update(result.skipped)
    return changed, skipped


def _skipped_text(skipped):
    return ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))


@admin.register(Activity)
class ActivityAdmin(ActivityImportExportMixin, ConsoleModelAdmin):
    console_view = Permission.VIEW_ACTIVITIES
    console_add = console_change = console_delete = None  # created through the API; changed by transitions only
    list_display = ["label", "type", "channel", "status_badge", "tenant", "commerce", "scheduled_at", "score",
                    "dispatch_attempt_count", "created_at"]
    list_display_links = ["label"]
    list_filter = ["tenant", "status", "type", "channel", ("scheduled_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "idempotency_key", "reason", "provider_activity_id",
                     "commerce_assignment__commerce__name", "commerce_assignment__commerce__external_id"]
    date_hierarchy = "scheduled_at"
    list_select_related = ["tenant", "commerce_assignment__commerce"]
    ordering = ["-created_at"]
    actions = ["cancel_selected", "retry_resolution_selected", "force_retry_selected", "dispatch_selected"]
    actions_detail = ["cancel_detail", "retry_resolution_detail", "force_retry_detail", "dispatch_now_detail"]
    inlines = [CommerceAssignmentInline, TaskDetailsInline, TargetUserInline, ActivityAttributeInline,
               TaskResultInline, DeliveryReceiptInline, StatusEventInline]
    fieldsets = [
        (None, {"fields": ["id", "tenant", "commerce_link", "type", "channel", "status_badge", "reason",
                           "idempotency_key"]}),
        ("Schedule", {"fields": ["scheduled_at", "suggested_execution_time", "user_status", "score", "created_by"]}),
        ("Dispatch", {"fields": ["dispatch_config", "provider_activity_id", "dispatch_attempt_count",
                                 "next_attempt_at", "last_dispatch_error", "dispatched_at", "completed_at"]}),
        ("Results", {"fields": ["last_result", "follow_up_of_link", "follow_ups"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["id", "tenant", "commerce_link", "type", "channel", "status_badge", "reason",
                       "idempotency_key", "scheduled_at", "suggested_execution_time", "user_status", "score",
                       "created_by", "dispatch_config", "provider_activity_id", "dispatch_attempt_count",
                       "next_attempt_at", "last_dispatch_error", "dispatched_at", "completed_at", "last_result",
                       "follow_up_of_link", "follow_ups", "created_at", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant", "commerce_assignment__commerce")

    def lookup_allowed(self, lookup, value, request=None):
        # The commerce page links here with its activities (commerce -> activities).
        if lookup in ("commerce_assignment__commerce__id__exact", "follow_up_of__id__exact"):
            return True
        return super().lookup_allowed(lookup, value, request)

    def console_label(self, activity):
        return activity_label(activity)

    @admin.display(description="activity", ordering="created_at")
    def label(self, activity):
        return activity_label(activity)

    @admin.display(description="status", ordering="status")
    def status_badge(self, activity):
        return status_badge_html(activity.status)

    @admin.display(description="commerce", ordering="commerce_assignment__commerce__name")
    def commerce(self, activity):
        assignment = getattr(activity, "commerce_assignment", None)
        return assignment.commerce if assignment else "-"

    @admin.display(description="commerce")
    def commerce_link(self, activity):
        assignment = getattr(activity, "commerce_assignment", None)
        if assignment is None:
            return "-"
        return admin_link(reverse("admin:commerces_commerce_change", args=[assignment.commerce_id]),
                          assignment.commerce.name)

    @admin.display(description="follow-up of")
    def follow_up_of_link(self, activity):
        return activity_link(activity.follow_up_of)

    @admin.display(description="follow-ups")
    def follow_ups(self, activity):
        count = Activity.objects.filter(follow_up_of=activity).count()
        if not count:
            return "-"
        url = reverse("admin:activities_activity_changelist") + f"?follow_up_of__id__exact={activity.pk}"
        return admin_link(url, f"{count} follow-up activit{'y' if count == 1 else 'ies'}")

    def has_add_permission(self, request):
        return False  # activities are created through the API (idempotency, resolution)

    def has_change_permission(self, request, obj=None):
        return False  # nothing on the page is edited: no Save button; the transitions are the buttons at the top

    def has_delete_permission(self, request, obj=None):
        return False  # the status-event trail is the audit record

    # --- permissions of the transitions (SPEC 2, as the API routes), in the activity's tenant ---

    def _may(self, request, permission, object_id=None):
        if not is_tenant_staff(request):
            return True
        if object_id is None:
            return self.staff_may(request, permission)
        tenant_id = self._tenant_of(request, object_id)
        return tenant_id is not None and permission in console_permissions(request).get(tenant_id, ())

    def _tenant_of(self, request, object_id):
        cache = request.__dict__.setdefault("_console_activity_tenants", {})
        if object_id not in cache:
            try:
                cache[object_id] = self.get_queryset(request).filter(pk=object_id).values_list(
                    "tenant_id", flat=True).first()
            except (ValueError, DjangoValidationError):
                cache[object_id] = None
        return cache[object_id]

    def has_cancel_permission(self, request, object_id=None):
        return self._may(request, Permission.CANCEL_ACTIVITY, object_id)

    def has_retry_resolution_permission(self, request, object_id=None):
        return self._may(request, Permission.CREATE_ACTIVITY, object_id)

    def has_dispatch_permission(self, request, object_id=None):
        return self._may(request, Permission.DISPATCH_ACTIVITY, object_id)

    def get_actions_detail(self, request, object_id):
        """Only the buttons the activity's status offers (Dispatch now for TASKs only)."""
        actions = super().get_actions_detail(request, object_id)
        try:
            row = self.get_queryset(request).filter(pk=object_id).values("status", "type").first()
        except (ValueError, DjangoValidationError):
            row = None
        if row is None:
            return []
        offered = {name for name, statuses in TRANSITION_FROM.items() if row["status"] in statuses}
        if row["type"] != ActivityType.TASK:
            offered.discard("dispatch_now")
        return [item for item in actions if item.method.__name__.removesuffix("_detail") in offered]

    def _transition_page(self, request, object_id, name):
        """GET: a confirmation page (Cancel and Force retry ask for a reason). POST: the service, then back to the
        activity with what happened."""
        activity = self.get_object(request, object_id)
        if activity is None:
            raise Http404("Activity not found")
        label, _permission, form_class, run = TRANSITIONS[name]
        change_url = reverse("admin:activities_activity_change", args=[activity.pk])
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = run(activity, _actor(request), form.cleaned_data)
            except DomainError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
            else:
                if name == "retry_resolution" and result.status != ActivityStatus.READY:
                    self.message_user(request, "Resolution retried: still UNRESOLVED (see the latest status event).",
                                      level=messages.WARNING)
                else:
                    self.message_user(request, f"Done: the activity is now {result.status}.", level=messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {**self.admin_site.each_context(request), "title": f"{label}: {activity_label(activity)}",
                   "subject": f"The activity is {activity.status}. {label} it?", "form": form,
                   "submit_label": f"Yes, {label.lower()}", "danger": name == "cancel", "opts": self.model._meta,
                   "original": activity_label(activity), "cancel_url": change_url}
        return TemplateResponse(request, "admin/console/form_page.html", context)

    @action(description="Cancel…", url_path="cancel", permissions=["cancel"], icon="cancel")
    def cancel_detail(self, request, object_id):
        return self._transition_page(request, object_id, "cancel")

    @action(description="Retry resolution…", url_path="retry-resolution", permissions=["retry_resolution"],
            icon="refresh")
    def retry_resolution_detail(self, request, object_id):
        return self._transition_page(request, object_id, "retry_resolution")

    @action(description="Force retry…", url_path="force-retry", permissions=["dispatch"], icon="replay")
    def force_retry_detail(self, request, object_id):
        return self._transition_page(request, object_id, "force_retry")

    @action(description="Dispatch now…", url_path="dispatch-now", permissions=["dispatch"], icon="send")
    def dispatch_now_detail(self, request, object_id):
        return self._transition_page(request, object_id, "dispatch_now")

    # --- repair of UNRESOLVED: a value or a person given by hand (CREATE_ACTIVITY, as the API) ---

    def get_urls(self):
        return [
            path("<uuid:activity_id>/attributes/<uuid:attribute_id>/resolve/",
                 self.admin_site.admin_view(self.attribute_resolve_view),
                 name="activities_activity_attribute_resolve"),
            path("<uuid:activity_id>/target-users/<uuid:target_user_id>/resolve/",
                 self.admin_site.admin_view(self.target_user_resolve_view),
                 name="activities_activity_target_user_resolve"),
            *super().get_urls(),
        ]

    def _repair_page(self, request, activity, *, form, title, subject, submit_label, run):
        """GET shows the form; a valid POST runs the service (the same as the API) and returns to the activity."""
        change_url = reverse("admin:activities_activity_change", args=[activity.pk])
        if request.method == "POST" and form.is_valid():
            try:
                message = run(form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, message, level=messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {**self.admin_site.each_context(request), "title": title,
                   "subject": f"The activity is {activity.status}. {subject}", "form": form,
                   "activity": activity, "cancel_url": change_url, "submit_label": submit_label,
                   "opts": self.model._meta, "original": activity_label(activity)}
        return TemplateResponse(request, "admin/console/form_page.html", context)

    def _activity_for_repair(self, request, activity_id):
        activity = self.get_object(request, str(activity_id))
        if activity is None:
            raise Http404("Activity not found")
        if not self._may(request, Permission.CREATE_ACTIVITY, str(activity.pk)):
            raise PermissionDenied
        return activity

    def attribute_resolve_view(self, request, activity_id, attribute_id):
        activity = self._activity_for_repair(request, activity_id)
        attribute = ActivityAttribute.objects.select_related("attribute_key").filter(
            activity=activity, pk=attribute_id).first()
        if attribute is None:
            raise Http404("Attribute not found")

        def run(cleaned):
            services.attribute_resolve(activity=activity, attribute_id=attribute.pk, value=cleaned["value"],
                                       actor=_actor(request))
            status = Activity.objects.get(pk=activity.pk).status
            return f"Attribute {attribute.attribute_key.key} set by hand; the activity is now {status}."

        return self._repair_page(
            request, activity, form=AttributeValueForm(request.POST or None),
            title=f"Set {attribute.attribute_key.key} by hand",
            subject=f"Attribute {attribute.attribute_key.key} is {attribute.resolution_status}"
                    + (f" ({attribute.error_message})." if attribute.error_message else "."),
            submit_label="Set value", run=run)

    def target_user_resolve_view(self, request, activity_id, target_user_id):
        activity = self._activity_for_repair(request, activity_id)
        target = TargetUser.objects.filter(activity=activity, pk=target_user_id).first()
        if target is None:
            raise Http404("Target user not found")

        def run(cleaned):
            services.target_user_resolve(activity=activity, target_user_id=target.pk,
                                         commerce_user_id=cleaned["commerce_user"].pk, actor=_actor(request))
            status = Activity.objects.get(pk=activity.pk).status
            return f"Target user assigned to {cleaned['commerce_user']}; the activity is now {status}."

        return self._repair_page(
            request, activity,
            form=TargetAssignForm(request.POST or None, commerce_id=activity.commerce_assignment.commerce_id),
            title="Assign a target user by hand",
            subject=f"Target user {target.position + 1} is {target.resolution_status}"
                    + (f" ({target.error_message})." if target.error_message else "."),
            submit_label="Assign", run=run)

    def get_inlines(self, request, obj):
        return [*self.inlines, *hooks.hooks.admin_inlines]

    # --- bulk actions: the same operations over a selection, reporting what changed and what was skipped ---

    def _allowed_tenants(self, request, permission):
        if not is_tenant_staff(request):
            return None
        return {tenant_id for tenant_id, perms in console_permissions(request).items() if permission in perms}

    def _report_bulk(self, request, verb, changed, skipped):
        message = f"{verb} {changed} activit{'y' if changed == 1 else 'ies'}."
        if skipped:
            message += f" Skipped {sum(skipped.values())} ({_skipped_text(skipped)})."
        self.message_user(request, message, level=messages.SUCCESS if changed else messages.WARNING)

    @admin.action(description="Cancel selected activities (READY only)", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        changed, skipped = _bulk(queryset, operation="cancel", actor=_actor(request), reason="Canceled in the admin",
                                 allowed_tenants=self._allowed_tenants(request, Permission.CANCEL_ACTIVITY))
        self._report_bulk(request, "Canceled", changed, skipped)

    @admin.action(description="Retry resolution of selected activities (UNRESOLVED only)",
                  permissions=["retry_resolution"])
    def retry_resolution_selected(self, request, queryset):
        changed, skipped = _bulk(queryset, operation="retry_resolution", actor=_actor(request),
                                 allowed_tenants=self._allowed_tenants(request, Permission.CREATE_ACTIVITY))
        self._report_bulk(request, "Resolved (now READY)", changed, skipped)

    @admin.action(description="Force retry of selected dispatch failures (FAILED by dispatch only)",
                  permissions=["dispatch"])
    def force_retry_selected(self, request, queryset):
        changed, skipped = _bulk(queryset, operation="force_retry_dispatch", actor=_actor(request),
                                 reason="Force retry in the admin",
                                 allowed_tenants=self._allowed_tenants(request, Permission.DISPATCH_ACTIVITY))
        self._report_bulk(request, "Force-retried (now READY)", changed, skipped)

    @admin.action(description="Dispatch selected now (READY TASKs only)", permissions=["dispatch"])
    def dispatch_selected(self, request, queryset):
        sent, refused = 0, Counter()
        allowed = self._allowed_tenants(request, Permission.DISPATCH_ACTIVITY)
        for pk, tenant_id in queryset.values_list("pk", "tenant_id"):
            if allowed is not None and tenant_id not in allowed:
                refused["not permitted in its tenant"] += 1
                continue
            try:
                _dispatch_now(Activity(pk=pk), _actor(request))
            except DomainError as exc:
                refused[exc.message] += 1
            else:
                sent += 1
        message = f"Dispatched {sent}."
        if refused:
            message += " Not dispatched: " + "; ".join(f"{count} x {reason}" for reason, count in refused.items())
        self.message_user(request, message, level=messages.SUCCESS if sent else messages.WARNING)


@admin.register(StatusEvent)
class StatusEventAdmin(LinksToActivity, ConsoleModelAdmin):
    tenant_path = "activity__tenant"
    console_view = Permission.VIEW_ACTIVITIES
    list_display = ["occurred_at", "event_type", "from_status", "to_status", "error_code", "actor_type",
                    "activity_column"]
    list_filter = ["event_type", "actor_type", "activity__tenant", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["=activity__id", "error_code", "error_message"]
    date_hierarchy = "occurred_at"
    list_select_related = ["activity__commerce_assignment__commerce"]
    raw_id_fields = ["activity", "actor_user", "actor_api_key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # append-only

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ConsoleModelAdmin):
    console_view = Permission.VIEW_ACTIVITIES
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TargetUser)
class TargetUserAdmin(LinksToActivity, ReadOnlyAdmin):
    tenant_path = "activity__tenant"
    list_display = ["id", "activity_column", "commerce_user", "resolution_status", "resolution_strategy", "lock_reason",
                    "resolved_at"]
    list_filter = ["resolution_status", "resolution_strategy", "lock_reason", "activity__tenant"]
    search_fields = ["=activity__id", "commerce_user__first_name", "commerce_user__last_name"]
    list_select_related = ["activity__commerce_assignment__commerce", "commerce_user"]


@admin.register(ActivityAttribute)
class ActivityAttributeAdmin(LinksToActivity, ReadOnlyAdmin):
    tenant_path = "activity__tenant"
    list_display = ["id", "activity_column", "attribute_key", "resolution_status", "strategy", "resolver_type",
                    "resolved_at"]
    list_filter = ["resolution_status", "strategy", "resolver_type", "attribute_key", "activity__tenant"]
    search_fields = ["=activity__id", "attribute_key__key", "error_message"]
    list_select_related = ["activity__commerce_assignment__commerce", "attribute_key"]


@admin.register(CommerceAssignment)
class CommerceAssignmentAdmin(LinksToActivity, ReadOnlyAdmin):
    tenant_path = "activity__tenant"
    list_display = ["activity_column", "commerce", "assignment_reason", "assigned_at"]
    list_filter = ["commerce__tenant"]
    search_fields = ["=activity__id", "commerce__name", "commerce__external_id"]
    list_select_related = ["activity__commerce_assignment__commerce", "commerce"]
    date_hierarchy = "assigned_at"


@admin.register(TaskDetails)
class TaskDetailsAdmin(LinksToActivity, ReadOnlyAdmin):
    tenant_path = "activity__tenant"
    list_display = ["activity_column", "route", "operator"]
    list_filter = ["route__tenant"]
    search_fields = ["=activity__id", "route__code", "operator__name", "operator__external_id"]
    list_select_related = ["activity__commerce_assignment__commerce", "route", "operator"]


# --- configuration --------------------------------------------------------------------------------------------

class TargetResolutionConfigForm(forms.ModelForm):
    class Meta:
        model = TargetResolutionConfig
        fields = ["tenant", "resolution_strategy", "fallback_to_commerce_rep", "fallback_to_owner", "priority",
                  "is_active", "criteria"]

    def clean_criteria(self):
        criteria = self.cleaned_data.get("criteria") or []
        problems = validate_criteria(criteria)
        if problems:
            raise forms.ValidationError([f"{name}: {', '.join(found)}".lstrip(": ") for name, found in
                                         problems.items()])
        return criteria


@admin.register(TargetResolutionConfig)
class TargetResolutionConfigAdmin(ConsoleModelAdmin):
    form = TargetResolutionConfigForm
    list_display = ["tenant", "priority", "resolution_strategy", "fallback_to_commerce_rep", "fallback_to_owner",
                    "is_active", "updated_at"]
    list_filter = ["tenant", "resolution_strategy", "is_active"]
    list_select_related = ["tenant"]
    ordering = ["tenant", "priority"]

    def save_model(self, request, obj, form, change):
        # The form has validated criteria and the priority; the service normalises and saves (new or not).
        data = {name: form.cleaned_data[name] for name in form.Meta.fields if name != "tenant"}
        services.target_resolution_config_update(config=obj, data=data)


@admin.register(AttributeKey)
class AttributeKeyAdmin(ConsoleModelAdmin):
    """Attribute keys are global: tenant staff read them, platform staff change them."""

    tenant_path = GLOBAL
    console_view = ANY_MEMBER
    console_add = console_change = console_delete = None
    list_display = ["key", "label", "description"]
    search_fields = ["key", "label"]


class AttributePolicyForm(forms.ModelForm):
    hook_url = forms.URLField(max_length=500, required=False, assume_scheme="https",
                              help_text="Required for CLIENT_HOOK: a POST answering {value} within 5 s.")

    class Meta:
        model = AttributePolicy
        fields = ["tenant", "attribute_key", "strategy", "resolver_type", "hook_url"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("resolver_type") == ResolverType.CLIENT_HOOK and not cleaned.get("hook_url"):
            self.add_error("hook_url", "Required for CLIENT_HOOK resolvers.")
        elif cleaned.get("hook_url") and (problem := url_problem(cleaned["hook_url"])):
            self.add_error("hook_url", problem)
        return cleaned


@admin.register(AttributePolicy)
class AttributePolicyAdmin(ConsoleModelAdmin):
    form = AttributePolicyForm
    list_display = ["tenant", "attribute_key", "strategy", "resolver_type", "hook_url", "updated_at"]
    list_filter = ["tenant", "strategy", "resolver_type", "attribute_key"]
    list_select_related = ["tenant", "attribute_key"]
    search_fields = ["attribute_key__key", "hook_url"]


@admin.register(UserRetentionStatus)
class UserRetentionStatusAdmin(ConsoleModelAdmin):
    list_display = ["tenant", "code", "label", "is_active"]
    list_filter = ["tenant", "is_active"]
    search_fields = ["code", "label"]
    list_select_related = ["tenant"]


# --- results ----------------------------------------------------------------------------------------------------

@admin.register(TaskResult)
class TaskResultAdmin(TaskResultExportMixin, ReadOnlyAdmin):
    """Results arrive through the API (one service checks and applies them); here they are read."""

    list_display = ["row_label", "occurred_at", "status", "result_code", "source", "activity_label", "commerce",
                    "hard_override", "tenant"]
    list_display_links = ["row_label"]
    list_filter = ["tenant", "source", "status", "hard_override", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["=id", "=activity__id", "provider_activity_id", "result_code", "commerce__name",
                     "commerce__external_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["tenant", "activity__commerce_assignment__commerce", "commerce"]
    raw_id_fields = ["activity", "commerce", "follow_up_activity", "result_type", "actor_user", "actor_api_key"]

    def console_label(self, result):
        return short_label(result.commerce.name if result.commerce_id else result.result_code, result.pk)

    @admin.display(description="activity")
    def activity_label(self, result):
        return activity_link(result.activity)


class TaskResultTypeForm(forms.ModelForm):
    class Meta:
        model = TaskResultType
        fields = ["tenant", "code", "label", "requires_future_scheduled_at", "creates_follow_up", "is_active"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("creates_follow_up") and not cleaned.get("requires_future_scheduled_at"):
            self.add_error("creates_follow_up", "A type that creates a follow-up must require future_scheduled_at.")
        return cleaned


@admin.register(TaskResultType)
class TaskResultTypeAdmin(ConsoleModelAdmin):
    form = TaskResultTypeForm
    list_display = ["tenant", "code", "label", "requires_future_scheduled_at", "creates_follow_up", "is_active"]
    list_filter = ["tenant", "is_active", "creates_follow_up"]
    search_fields = ["code", "label"]
    list_select_related = ["tenant"]
    ordering = ["tenant", "code"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant", "code"] if obj is not None else []  # stored results name the code

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in form.Meta.fields
                if name in form.cleaned_data and name != "tenant"}
        if change:
            services.task_result_type_update(result_type=obj, data=data)
        else:
            services.task_result_type_create(tenant=obj.tenant, data=data)
