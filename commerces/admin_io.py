"""CSV import of commerces in the console, through the sync service of POST /api/commerces/sync (SPEC 3, 7).

One line per commerce: its fields, `metadata` as a JSON object, and optionally one primary address in `address_*`
columns. Each line is validated as a sync item; lines the API would refuse are refused with the reason, the rest go
to `commerce_sync` in one all-or-nothing call (upsert on external_id; an empty cell keeps the stored value).
"""
import copy
import json

from commerces.api.serializers import CommerceSyncItemSerializer
from commerces.models import Commerce
from commerces.services import commerce_sync
from commerces.services.common import SYNC_MAX_ITEMS
from reten import errors
from tenants.admin_io import (
    NEW,
    UPDATE,
    RowOutcome,
    ServiceImportMixin,
    ServiceImportResource,
    problems_text,
    rows_named,
)
from tenants.roles import Permission

COMMERCE_COLUMNS = ("external_id", "name", "tax_id", "global_external_id", "is_active", "is_placeholder", "metadata")
# Column -> field of the (primary) address sent with the commerce.
ADDRESS_COLUMNS = {
    "address_alias": "address_alias", "address_street": "street", "address_street_number": "street_number",
    "address_unit": "unit", "address_city": "city", "address_commune": "commune", "address_region": "region",
    "address_country_code": "country_code", "address_formatted": "formatted_address",
    "address_latitude": "latitude", "address_longitude": "longitude", "address_source_ref": "source_ref",
}


def sync_item(row: dict) -> dict:
    """A CSV line as the sync request's item (before validation): empty cells are left out."""
    item = {name: row[name] for name in COMMERCE_COLUMNS if row.get(name)}
    if "metadata" in item:
        try:
            item["metadata"] = json.loads(item["metadata"])
        except ValueError:
            pass  # left as text: the serializer says what it expects
    address = {field: row[column] for column, field in ADDRESS_COLUMNS.items() if row.get(column)}
    if address:
        item["addresses"] = [{**address, "is_primary": True}]
    return item


class CommerceImportResource(ServiceImportResource):
    columns = (*COMMERCE_COLUMNS, *ADDRESS_COLUMNS)
    required_columns = ("external_id", "name")
    key_column = "external_id"
    max_rows = SYNC_MAX_ITEMS
    permission = Permission.SYNC_COMMERCES

    @classmethod
    def get_display_name(cls):
        return "Commerces (through the sync of POST /api/commerces/sync)"

    def run(self, rows, *, dry_run):
        outcomes, items = [None] * len(rows), {}
        for position, row in enumerate(rows):
            serializer = CommerceSyncItemSerializer(data=sync_item(row))
            if serializer.is_valid():
                items[position] = serializer.validated_data
            else:
                outcomes[position] = RowOutcome.refused(problems_text(serializer.errors))
        stored = set(Commerce.objects.for_tenant(self.tenant).filter(
            external_id__in=[item["external_id"] for item in items.values()]).values_list("external_id", flat=True))
        while items:
            order = list(items)
            try:
                commerce_sync(tenant=self.tenant, items=[copy.deepcopy(items[position]) for position in order])
            except (errors.ValidationFailed, errors.Conflict) as exc:
                named = rows_named(exc.details, order)
                if not named:
                    raise
                for position, reason in named.items():
                    outcomes[position] = RowOutcome.refused(reason)
                    del items[position]
            else:
                break
        for position, item in items.items():
            updated = item["external_id"] in stored
            outcomes[position] = RowOutcome(UPDATE if updated else NEW, "Update" if updated else "Create")
        return outcomes


class CommerceImportMixin(ServiceImportMixin):
    import_resource_class = CommerceImportResource
