import pytest

from commerces.tests.factories import CommerceFactory


@pytest.fixture
def fde_api(api_as, fde_user, tenant):
    return api_as(fde_user, tenant)


@pytest.fixture
def viewer_api(api_as, viewer_user, tenant):
    return api_as(viewer_user, tenant)


@pytest.fixture
def commerce(tenant):
    return CommerceFactory(tenant=tenant, external_id="C-1", name="Minimarket Don Pedro", tax_id="76000001-1",
                           metadata={"segment": "GOLD"})


@pytest.fixture
def foreign_commerce(other_tenant):
    return CommerceFactory(tenant=other_tenant, external_id="C-1", name="Someone else's store")
