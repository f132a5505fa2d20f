"""What the activity page's buttons and the changelist's bulk actions run: the transitions (label, permission,
form, service) with the statuses that offer each, the bulk service over a selection, and the forms of the
confirmation and repair pages. The same services as the API."""
from collections import Counter

from django import forms

from activities import hooks, services
from activities.models import Activity, ActivityStatus
from activities.services.bulk import MAX_BULK_IDS
from commerces.models import CommerceUser
from tenants.actors import Actor
from tenants.models import Tenant
from tenants.roles import Permission


class AttributeValueForm(forms.Form):
    value = forms.JSONField(help_text='Any JSON except null: 42, "text", [1, 2], {"daysAgo": 3}.')


class TargetAssignForm(forms.Form):
    commerce_user = forms.ModelChoiceField(queryset=CommerceUser.objects.none(),
                                           help_text="An active person of the activity's commerce.")

    def __init__(self, *args, commerce_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commerce_user"].queryset = CommerceUser.objects.filter(
            commerce_id=commerce_id, is_active=True).order_by("first_name", "last_name")


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
