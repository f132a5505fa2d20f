"""CSV import of commerces in the console (SPEC 7): a preview of what the sync would create, update or refuse, then
the sync itself (POST /api/commerces/sync's service) on confirm, into a tenant chosen among the user's."""
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from commerces.models import Address, Commerce, Source
from commerces.tests.factories import CommerceFactory
from tenants.tests.factories import member

IMPORT = "/admin/commerces/commerce/import/"
CONFIRM = "/admin/commerces/commerce/process_import/"
HEADER = "external_id,name,tax_id,is_active,metadata,address_street,address_city,address_country_code\n"


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(superuser):
    return client_of(superuser)


def preview(client, tenant, text):
    return client.post(IMPORT, {"tenant": tenant.pk, "format": "0", "resource": "0",
                                "import_file": SimpleUploadedFile("commerces.csv", text.encode())})


def confirm(client, response):
    form = response.context["confirm_form"]
    return client.post(CONFIRM, {name: form.initial.get(name, "") for name in form.fields}, follow=True)


def rows(response):
    return [row.diff for row in response.context["result"].rows]


@pytest.fixture
def import_file(commerce):
    CommerceFactory(tenant=commerce.tenant, external_id="C-9", tax_id="77000009-9")
    return (HEADER
            + 'C-1,Don Pedro Renamed,,,"{""tier"": ""A""}",,,\n'
            + "C-2,Almacen Rosa,76000002-2,true,,Av. Grecia 100,Santiago,CL\n"
            + ",No key,,,,,,\n"
            + "C-3,Taken tax id,77000009-9,,,,,\n"
            + "C-4,Bad flag,,maybe,,,,\n"
            + "C-2,Twice,,,,,,\n")


def test_dry_run_previews_created_updated_and_refused_and_writes_nothing(staff, tenant, commerce, import_file):
    response = preview(staff, tenant, import_file)
    assert response.status_code == 200
    assert rows(response) == [
        [2, "C-1", "Update", ""],
        [3, "C-2", "Create", ""],
        [4, "", "Refused", "external_id: This field is required."],
        [5, "C-3", "Refused", "tax_id: tax_id '77000009-9' already belongs to the commerce with external_id 'C-9'."],
        [6, "C-4", "Refused", "is_active: Must be a valid boolean."],
        [7, "C-2", "Refused", "external_id: Duplicate external_id 'C-2' in this request (also line 3)."],
    ]
    assert "confirm_form" in response.context
    stored = Commerce.objects.get(pk=commerce.pk)
    assert (stored.name, stored.metadata) == ("Minimarket Don Pedro", {"segment": "GOLD"})
    assert sorted(Commerce.objects.values_list("external_id", flat=True)) == ["C-1", "C-9"]


def test_confirm_writes_through_the_sync(staff, tenant, commerce, foreign_commerce):
    text = (HEADER + 'C-1,Don Pedro Renamed,,,"{""tier"": ""A""}",,,\n'
            + "C-2,Almacen Rosa,76000002-2,true,,Av. Grecia 100,Santiago,CL\n"
            + ",No key,,,,,,\n")
    response = confirm(staff, preview(staff, tenant, text))
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Import finished: 1 created, 1 updated, 0 already there, 1 refused."]
    updated = Commerce.objects.get(pk=commerce.pk)
    # The sync's rules: metadata merged key by key, an empty cell keeps the stored value.
    assert (updated.name, updated.metadata, updated.tax_id) == ("Don Pedro Renamed", {"segment": "GOLD", "tier": "A"},
                                                                "76000001-1")
    created = Commerce.objects.get(tenant=tenant, external_id="C-2")
    assert (created.name, created.tax_id, created.is_active) == ("Almacen Rosa", "76000002-2", True)
    address = Address.objects.get(commerce=created)
    assert (address.street, address.city, address.country_code, address.is_primary, address.source) == (
        "Av. Grecia 100", "Santiago", "CL", True, Source.INTEGRATION)
    # The other tenant's commerce with the same external_id is untouched.
    assert Commerce.objects.get(pk=foreign_commerce.pk).name == "Someone else's store"
    assert Commerce.objects.filter(tenant=foreign_commerce.tenant).count() == 1


def test_import_needs_sync_commerces_in_the_chosen_tenant(tenant, other_tenant, commerce):
    text = HEADER + "C-5,New store,,,,,,\n"
    fde = client_of(member(tenant, "FDE", is_staff=True))  # MANAGE_COMMERCES but not SYNC_COMMERCES
    assert fde.get(IMPORT).status_code == 403
    assert preview(fde, tenant, text).status_code == 403
    admin = client_of(member(tenant, "ADMIN", is_staff=True))
    assert list(admin.get(IMPORT).context["form"].fields["tenant"].queryset) == [tenant]
    refused = preview(admin, other_tenant, text)
    assert "tenant" in refused.context["form"].errors
    assert not Commerce.objects.filter(external_id="C-5").exists()
    confirm(admin, preview(admin, tenant, text))
    assert Commerce.objects.get(external_id="C-5").tenant_id == tenant.pk


def test_every_row_refused_offers_no_confirm(staff, tenant):
    response = preview(staff, tenant, HEADER + ",No key,,,,,,\n")
    assert rows(response) == [[2, "", "Refused", "external_id: This field is required."]]
    assert "confirm_form" not in response.context
    assert response.context["form"] is not None


def test_the_preview_costs_the_same_queries_for_5_or_50_lines(staff, tenant, query_count):
    def lines(count):
        return HEADER + "".join(f"N-{n},Store {n},,,,Street {n},Santiago,CL\n" for n in range(count))

    counts = []
    for count in (5, 50):
        with query_count() as counted:
            assert len(rows(preview(staff, tenant, lines(count)))) == count
        counts.append(len(counted))
    assert counts[0] == counts[1]
    assert not Commerce.objects.exists()
