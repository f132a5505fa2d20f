"""SPEC 10, Headers: a CSP on every page, no-store on API responses, HSTS outside DEBUG, docs from local assets."""
import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

CDN = re.compile(rb"https?://(?!127\.0\.0\.1|localhost|testserver)[\w.-]+")


def directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/", "/admin/login/", "/api/schema/", "/api/tenant",
                                  "/api/nope", "/healthz"])
def test_every_response_carries_a_csp_without_inline_scripts(anonymous, path):
    policy = directives(anonymous.get(path))
    assert policy["default-src"] == ["'self'"]
    # The console's theme (django-unfold) runs Alpine.js, which evaluates its expressions: /admin/ allows eval, but
    # scripts still only come from this origin and no inline <script> runs anywhere.
    assert policy["script-src"] == (["'self'", "'unsafe-eval'"] if path.startswith("/admin/") else ["'self'"])
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_swagger_ui_inline_style_carries_the_requests_nonce(anonymous):
    response = anonymous.get("/api/docs/")
    nonce = re.search(rb'<style nonce="([^"]+)">', response.content).group(1).decode()
    assert directives(response)["style-src"] == ["'self'", f"'nonce-{nonce}'"]


def test_only_redoc_and_the_console_may_use_inline_styles(anonymous):
    assert directives(anonymous.get("/api/redoc/"))["style-src"] == ["'self'", "'unsafe-inline'"]
    # django-unfold writes its theme colours in a <style> element and styles with style attributes.
    assert directives(anonymous.get("/admin/login/"))["style-src"] == ["'self'", "'unsafe-inline'"]
    nonce_only = directives(anonymous.get("/healthz"))["style-src"]
    assert "'unsafe-inline'" not in nonce_only and nonce_only[0] == "'self'"


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_local_assets_and_no_cdn(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in response.content
    assert CDN.findall(response.content) == []


def test_swagger_ui_init_script_is_a_same_origin_file(anonymous):
    page = anonymous.get("/api/docs/").content.decode()
    assert "<script>" not in page
    script = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page).group(1)
    response = anonymous.get(script.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in response.content


@pytest.mark.parametrize("method,path,status", [
    ("get", "/api/tenant", 401), ("get", "/api/nope", 404), ("post", "/api/auth/login", 400),
    ("get", "/api/commerces/not-a-uuid", 400), ("get", "/api/schema/", 200),
])
def test_api_responses_are_never_cached(anonymous, method, path, status):
    response = getattr(anonymous, method)(path)
    assert response.status_code == status
    assert response["Cache-Control"] == "no-store"


def test_a_successful_authenticated_response_is_not_cached(admin_api):
    response = admin_api.get("/api/user/tenant-users")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_pages_outside_the_api_keep_their_own_caching(anonymous):
    assert "no-store" not in anonymous.get("/healthz").get("Cache-Control", "")


def test_hsts_over_https_outside_debug(anonymous, settings):
    settings.DEBUG = False
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = anonymous.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_production_defaults_turn_hsts_on_and_debug_turns_it_off():
    from reten.tests.test_settings_validation import settings_in_subprocess

    production = settings_in_subprocess("SECURE_HSTS_SECONDS", DEBUG="false")
    development = settings_in_subprocess("SECURE_HSTS_SECONDS", DEBUG="true")
    assert (production, development) == ("31536000", "0")


def test_no_hsts_over_plain_http(anonymous, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    assert "Strict-Transport-Security" not in anonymous.get("/healthz")
