"""What the bulk commands share (SPEC 8, 11.4): tenant and selection from the options, the bulk service, the summary."""
from django.core.management.base import CommandError
from rest_framework import serializers

from activities.api.serializers import ActivityListFilterSerializer, FlexibleDateTimeField
from activities.services import activity_bulk_operate
from reten import errors
from tenants.actors import SYSTEM
from tenants.models import Tenant


def tenant_of(slug):
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(f"Unknown tenant slug {slug!r}")
    return tenant


def ids_of(text):
    ids = [part.strip() for part in (text or "").split(",") if part.strip()]
    field = serializers.ListField(child=serializers.UUIDField(), allow_empty=False)
    try:
        return field.run_validation(ids)
    except serializers.ValidationError:
        raise CommandError(f"--ids must be comma-separated activity UUIDs, got {text!r}") from None


def list_filters(raw: dict) -> dict:
    """The list's filters from command options (None = not given), validated as GET /api/activities does."""
    given = {name: value for name, value in raw.items() if value is not None}
    checked = ActivityListFilterSerializer(data=given)
    if not checked.is_valid():
        name, problems = next(iter(checked.errors.items()))
        raise CommandError(f"--{name.replace('_', '-')}: {problems[0]}")
    return dict(checked.validated_data)


def moment_of(option, value):
    try:
        return FlexibleDateTimeField().run_validation(value)
    except serializers.ValidationError as exc:
        raise CommandError(f"--{option}: {exc.detail[0]}") from None


def run_bulk(command, *, operation, tenant, ids, filters, reason, dry_run):
    try:
        result = activity_bulk_operate(tenant=tenant, actor=SYSTEM, operation=operation, ids=ids,
                                       filters=None if ids is not None else filters, reason=reason or "",
                                       dry_run=dry_run)
    except errors.DomainError as exc:
        raise CommandError(exc.message) from None
    skipped = " ".join(f"{reason}={count}" for reason, count in sorted(result.skipped.items()))
    prefix = "dry run: " if dry_run else ""
    command.stdout.write(f"{prefix}matched={result.matched} {'would_change' if dry_run else 'changed'}="
                         f"{result.changed} skipped={sum(result.skipped.values())}"
                         + (f" ({skipped})" if skipped else ""))
    return result
