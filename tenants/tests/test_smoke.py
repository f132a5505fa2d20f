def test_me(admin_api, admin_user, tenant):
    response = admin_api.get("/api/auth/me")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["email"] == admin_user.email
    assert body["roles"] == ["ADMIN"]
    assert body["tenantIds"] == [str(tenant.id)]
