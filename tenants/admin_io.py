"""Data in and out of the console (SPEC 7) on django-import-export, with the services as the only writers.

Export is import-export's own: the changelist's filters and the admin's `get_queryset` (the user's tenant scope)
pick the rows, so an export holds exactly what the filtered list shows.

Import replaces import-export's row-by-row model save: a `ServiceImportResource` hands the whole file to the
service the API uses (the commerce sync, the activity bulk create) and turns its outcome into import-export's
preview rows: created, updated, or refused with the reason. The dry run is the same service call in a transaction
that is rolled back, so the preview says what the confirm step will do. The tenant is chosen in the form among the
tenants where the user holds the permission the API requires; it never comes from the file.
"""
import csv
import datetime
import re
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from import_export.admin import ExportMixin, ImportMixin
from import_export.fields import Field
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import ConfirmImportForm
from import_export.resources import Resource
from import_export.results import Error, Result, RowResult
from import_export.tmp_storages import CacheStorage
from import_export.widgets import Widget
from tablib.exceptions import TablibException
from unfold.contrib.import_export.forms import ImportForm, SelectableFieldsExportForm
from unfold.widgets import UnfoldAdminSelectWidget

from reten import errors
from reten.api.exceptions import flatten_details
from tenants.actors import Actor
from tenants.models import Tenant, user_permissions_in
from tenants.selectors import tenants_of_user

NEW, UPDATE, SKIP = RowResult.IMPORT_TYPE_NEW, RowResult.IMPORT_TYPE_UPDATE, RowResult.IMPORT_TYPE_SKIP
REFUSED = "Refused"
FIRST_DATA_LINE = 2  # line 1 of the file holds the column names


def import_tenants(*, user, permission) -> list[Tenant]:
    """The active tenants `user` belongs to whose roles grant `permission` (every active tenant for a super admin)."""
    tenants = list(tenants_of_user(user=user).order_by("name"))
    if user.is_superuser:
        return tenants
    return [tenant for tenant in tenants if permission in user_permissions_in(user, tenant)]


def max_import_bytes() -> int:
    """An import file may be as large as an API body (the bulk endpoints' own limit)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def problems_text(details) -> str:
    """{"name": ["This field is required."]} -> "name: This field is required." (every problem, in order)."""
    return "; ".join(f"{field}: {problem}" if field != "non_field_errors" else str(problem)
                     for field, problems in flatten_details(details).items() for problem in problems)


def error_text(error: errors.DomainError) -> str:
    return problems_text(error.details) if error.details else error.message


@dataclass
class RowOutcome:
    """What the service does (or would do) with one line of the file."""

    import_type: str  # NEW, UPDATE or SKIP (refused or already there)
    outcome: str  # as the preview says it: Create, Update, Refused, Already imported
    reason: str = ""
    object_id: object = None

    @classmethod
    def refused(cls, reason):
        return cls(SKIP, REFUSED, reason)


class FileRefused(Exception):
    """A problem of the whole file (columns, size, row count): shown on the upload form, nothing is run."""


class IsoDateTimeWidget(Widget):
    """Timestamps as the API writes them: ISO 8601 in UTC with milliseconds and Z, in CSV and XLSX alike."""

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonBooleanWidget(Widget):
    """Booleans as the API writes them (true / false), which an import reads back."""

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else ("true" if value else "false")


class ServiceImportResource(Resource):
    """A CSV import that one service call writes. Subclasses name their columns and implement `run`."""

    columns: tuple[str, ...] = ()
    required_columns: tuple[str, ...] = ()
    key_column = ""
    max_rows = 0
    permission = None

    def __init__(self, *, tenant=None, actor=None, **kwargs):
        super().__init__(**kwargs)
        self.tenant, self.actor = tenant, actor

    def get_user_visible_fields(self):
        return [Field(column_name=name) for name in self.columns]

    def run(self, rows: list[dict], *, dry_run: bool) -> list[RowOutcome]:
        """One outcome per row, in order, written through the service (inside a rolled-back transaction when
        `dry_run`)."""
        raise NotImplementedError

    @classmethod
    def check_file(cls, dataset):
        """Raise FileRefused when the file as a whole cannot be imported."""
        headers = [header.strip() for header in dataset.headers or [] if header is not None]
        unknown = [header for header in headers if header not in cls.columns]
        if unknown:
            raise FileRefused(f"Unknown column(s): {', '.join(unknown)}. Known columns: {', '.join(cls.columns)}.")
        missing = [name for name in cls.required_columns if name not in headers]
        if missing:
            raise FileRefused(f"Missing column(s): {', '.join(missing)}.")
        if not len(dataset):
            raise FileRefused("The file has no rows to import.")
        if len(dataset) > cls.max_rows:
            raise FileRefused(f"At most {cls.max_rows} rows per import (the file has {len(dataset)}); split it.")

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        result = Result()
        result.diff_headers = ["Line", self.key_column, "Outcome", "Reason"]
        rows = [{(name or "").strip(): (value or "").strip() for name, value in row.items()} for row in dataset.dict]
        try:
            outcomes = self._run(rows, dry_run=dry_run)
        except errors.DomainError as exc:  # the whole batch refused (e.g. a concurrent change): nothing written
            result.append_base_error(Error(exc))
            return result
        for position, (row, outcome) in enumerate(zip(rows, outcomes, strict=True)):
            row_result = RowResult()
            row_result.import_type = outcome.import_type
            row_result.object_id = outcome.object_id
            row_result.outcome = outcome
            row_result.diff = [position + FIRST_DATA_LINE, row.get(self.key_column, ""), outcome.outcome,
                               outcome.reason]
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
        result.total_rows = len(rows)
        return result

    def _run(self, rows, *, dry_run):
        if not dry_run:
            return self.run(rows, dry_run=False)
        outcomes = None
        try:
            with transaction.atomic():
                outcomes = self.run(rows, dry_run=True)
                raise _RollBack
        except _RollBack:
            return outcomes


class _RollBack(Exception):
    """Leaves the dry run's transaction without committing what the service wrote."""


def line_of(order: list[int], index: int) -> int:
    return order[index] + FIRST_DATA_LINE


def rows_named(details, order: list[int]) -> dict[int, str]:
    """A batch service's problems keyed `items.<n>.<field>` -> {row position: reason}; {} when one names no item.
    `order` maps the batch's item positions to the file's row positions; `items.<n>` in messages becomes a line."""
    named = {}
    for key, problems in (details or {}).items():
        match = re.fullmatch(r"items\.(\d+)(?:\.(.+))?", key)
        if match is None or int(match[1]) >= len(order):
            return {}
        text = "; ".join(re.sub(r"items\.(\d+)", lambda m: f"line {line_of(order, int(m[1]))}", str(problem))
                         for problem in problems)
        reason = f"{match[2]}: {text}" if match[2] else text
        position = order[int(match[1])]
        named[position] = f"{named[position]}; {reason}" if position in named else reason
    return named


class SharedUploadStorage(CacheStorage):
    """The upload between preview and confirm, in the shared cache (database or Redis, as the throttles): the
    confirm may reach another worker or machine than the preview did."""

    def read(self):
        data = super().read()
        if data is None:
            raise FileNotFoundError(self.name)
        return data


class TenantImportForm(ImportForm):
    """import-export's upload form in unfold's widgets (unfold's ImportForm only restyles the resource, format and
    file inputs), plus the tenant and the file checks of Reten: the form stays this class, never unfold's own."""

    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), empty_label=None, widget=UnfoldAdminSelectWidget,
                                    help_text="Rows are imported into this tenant; a tenant column is not read.")
    field_order = ["tenant", "resource", "import_file", "format"]

    def __init__(self, formats, resources, *, tenants, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.resource_class = resources[0]
        self.fields["tenant"].queryset = Tenant.objects.filter(pk__in=[tenant.pk for tenant in tenants]).order_by(
            "name")
        self.fields["import_file"].help_text = (
            f"UTF-8 CSV with a header line; at most {self.resource_class.max_rows} rows and "
            f"{max_import_bytes() // 1024} KiB.")

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > max_import_bytes():
            raise forms.ValidationError(f"The file is larger than {max_import_bytes() // 1024} KiB; split it.")
        try:
            text = upload.read().decode("utf-8-sig")
            dataset = CSV(encoding="utf-8-sig").create_dataset(text)
            self.resource_class.check_file(dataset)
        except UnicodeDecodeError:
            raise forms.ValidationError("The file must be UTF-8 encoded CSV.") from None
        except FileRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        except (TablibException, csv.Error):
            raise forms.ValidationError("The file could not be read as CSV with a header line.") from None
        finally:
            upload.seek(0)
        return upload


class TenantConfirmImportForm(ConfirmImportForm):
    """The confirm step carries the tenant again and checks it again: a forged tenant id is a form error."""

    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none(), widget=forms.HiddenInput)

    def __init__(self, *, tenants, **kwargs):
        super().__init__(**kwargs)
        self.fields["tenant"].queryset = Tenant.objects.filter(pk__in=[tenant.pk for tenant in tenants])


class ServiceImportMixin(ImportMixin):
    """Admin import through `import_resource_class` (a ServiceImportResource): CSV, a tenant, a preview, confirm."""

    import_resource_class = None
    import_form_class = TenantImportForm
    confirm_form_class = TenantConfirmImportForm
    skip_admin_log = True  # the services keep the record (status events, updated_at); rows are not instances
    tmp_storage_class = SharedUploadStorage

    def get_import_resource_classes(self, request):
        return [self.import_resource_class]

    def get_import_formats(self):
        return [CSV]

    def import_tenants(self, request):
        cache = getattr(request, "_reten_import_tenants", None)
        if cache is None:
            cache = import_tenants(user=request.user, permission=self.import_resource_class.permission)
            request._reten_import_tenants = cache
        return cache

    def has_import_permission(self, request):
        return bool(self.import_tenants(request))

    def get_import_form_kwargs(self, request):
        return {**super().get_import_form_kwargs(request), "tenants": self.import_tenants(request)}

    def get_confirm_form_kwargs(self, request, import_form=None):
        return {**super().get_confirm_form_kwargs(request, import_form), "tenants": self.import_tenants(request)}

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["tenant"] = import_form.cleaned_data["tenant"].pk
        return initial

    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        tenant = getattr(form, "cleaned_data", {}).get("tenant") if form is not None else None
        return {"tenant": tenant, "actor": Actor(user=request.user)}

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        result = context.get("result")
        if result is not None and context.get("confirm_form") and not (result.totals[NEW] or result.totals[UPDATE]):
            del context["confirm_form"]  # nothing would be written: the upload form again, with the reasons
        return response

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except FileNotFoundError:  # confirmed twice, expired, or a forged name: the upload is not there to read
            messages.error(request, "The uploaded file is no longer there (already imported?): upload it again.")
            return HttpResponseRedirect(reverse("admin:{}_{}_import".format(*self.get_model_info()),
                                                current_app=self.admin_site.name))

    def add_success_message(self, result, request):
        refused = sum(1 for row in result if row.outcome.outcome == REFUSED)
        text = (f"Import finished: {result.totals[NEW]} created, {result.totals[UPDATE]} updated, "
                f"{result.totals[SKIP] - refused} already there, {refused} refused.")
        messages.add_message(request, messages.WARNING if refused else messages.SUCCESS, text)


class ScopedExportMixin(ExportMixin):
    """CSV/XLSX export of what the filtered changelist shows; the rows come from the admin's own queryset."""

    export_resource_class = None
    export_form_class = SelectableFieldsExportForm  # import-export's default form in unfold's widgets

    def get_export_resource_classes(self, request):
        return [self.export_resource_class]

    def get_export_formats(self):
        return [CSV, XLSX]

    def has_export_permission(self, request):
        return self.has_view_permission(request)
