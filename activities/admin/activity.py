"""The activity list (filters, search, CSV/XLSX export and import) and the activity page: every field read-only,
the transitions as buttons at the top (each with a confirmation page), the bulk actions, and the pages that
repair an UNRESOLVED activity by hand, all with the permissions of SPEC 2 in the activity's tenant."""
from collections import Counter

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from unfold.decorators import action

from activities import hooks, services
from activities.admin.actions import (
    TRANSITION_FROM,
    TRANSITIONS,
    AttributeValueForm,
    TargetAssignForm,
    _actor,
    _bulk,
    _dispatch_now,
    _skipped_text,
)
from activities.admin.display import activity_label, activity_link, admin_link, status_badge_html
from activities.admin.inlines import (
    ActivityAttributeInline,
    CommerceAssignmentInline,
    DeliveryReceiptInline,
    StatusEventInline,
    TargetUserInline,
    TaskDetailsInline,
    TaskResultInline,
)
from activities.admin_io import ActivityImportExportMixin
from activities.models import Activity, ActivityAttribute, ActivityStatus, ActivityType, TargetUser
from reten.errors import DomainError
from tenants.console import ConsoleModelAdmin, console_permissions, is_tenant_staff
from tenants.roles import Permission


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
