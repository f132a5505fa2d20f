"""The activity configuration catalogues: target resolution configs, attribute keys (global), attribute
policies and user retention statuses. Saved through the services where one owns the rule."""
from django import forms
from django.contrib import admin

from activities import services
from activities.models import AttributeKey, AttributePolicy, ResolverType, TargetResolutionConfig, UserRetentionStatus
from activities.resolution.targets import validate_criteria
from reten.urlsafety import url_problem
from tenants.console import ANY_MEMBER, GLOBAL, ConsoleModelAdmin


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
