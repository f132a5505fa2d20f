"""Every page of the console renders under django-unfold, for platform staff and for tenant staff."""
import pytest
from django.contrib import admin
from django.test import Client

from tenants.tests.factories import member


@pytest.mark.django_db
def test_every_console_page_answers_platform_and_tenant_staff_without_an_error(superuser, tenant):
    """Each list and add page, for a superuser and for a tenant ADMIN: 200, or 403 where the role may not."""
    c = Client()
    c.force_login(superuser)
    bad = []
    target = member(tenant, "VIEWER")
    for model in admin.site._registry:
        opts = model._meta
        for url in [f"/admin/{opts.app_label}/{opts.model_name}/", f"/admin/{opts.app_label}/{opts.model_name}/add/"]:
            r = c.get(url)
            if r.status_code not in (200, 403):
                bad.append((url, r.status_code))
    for url in [f"/admin/tenants/user/{target.pk}/change/", f"/admin/tenants/user/{target.pk}/password/", "/admin/",
                "/admin/dispatch/dispatchconfig/dashboard/"]:
        r = c.get(url)
        if r.status_code != 200:
            bad.append((url, r.status_code))
    staff = Client()
    staff.force_login(member(tenant, "ADMIN"))
    for model in admin.site._registry:
        opts = model._meta
        for url in [f"/admin/{opts.app_label}/{opts.model_name}/", f"/admin/{opts.app_label}/{opts.model_name}/add/"]:
            r = staff.get(url)
            if r.status_code not in (200, 403):
                bad.append(("staff", url, r.status_code))
    assert not bad
