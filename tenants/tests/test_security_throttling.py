"""Reten issue 8, item 5: throttles that hold across workers, ignore spoofed X-Forwarded-For, count per account,
and cover the admin login and reset-my-password (SPEC 10, "Logins")."""
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from rest_framework.test import APIClient

from reten.api.throttling import LoginAddressThrottle, client_address
from tenants.models import User
from tenants.tests.factories import member

LOGIN = "/api/auth/login"
ROOT = Path(__file__).resolve().parents[2]


def login(identifier, password="password123", **meta):
    return APIClient().post(LOGIN, {"identifier": identifier, "password": password}, format="json", **meta)


@pytest.fixture
def victim(tenant):
    return member(tenant, "ADMIN", email="victim@a.example", username="vera")


@pytest.mark.django_db
class TestLoginThrottle:
    def test_a_spoofed_x_forwarded_for_does_not_reset_the_count(self, settings, victim):
        settings.LOGIN_THROTTLE_RATE = "3/min"
        statuses = [login(f"guess{n}@a.example", "wrong-password", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
                    .status_code for n in range(5)]
        assert statuses == [401, 401, 401, 429, 429]

    def test_beyond_the_limit_even_the_right_password_does_not_log_in(self, settings, victim):
        settings.LOGIN_THROTTLE_RATE = "2/min"
        login(victim.email, "wrong-password")
        login(victim.email, "wrong-password")
        response = login(victim.email)
        assert response.status_code == 429
        assert response.json() == {"statusCode": 429, "error": "Too Many Requests",
                                   "message": response.json()["message"]}
        assert int(response["Retry-After"]) > 0
        assert "refreshToken" not in response.cookies
        assert User.objects.get(pk=victim.pk).last_login is None

    def test_the_per_account_limit_holds_across_addresses(self, settings, victim, tenant):
        settings.LOGIN_ACCOUNT_THROTTLE_RATE = "3/min"
        statuses = [login(victim.email, "wrong-password", REMOTE_ADDR=f"203.0.113.{n}").status_code
                    for n in range(1, 5)]
        assert statuses == [401, 401, 401, 429]
        # The e-mail and the username name one account: switching does not buy more guesses.
        assert login("vera", REMOTE_ADDR="203.0.113.9").status_code == 429
        assert login(" VICTIM@A.EXAMPLE ", REMOTE_ADDR="203.0.113.10").status_code == 429
        # Other accounts are not locked by it.
        other = member(tenant, "VIEWER")
        assert login(other.email, REMOTE_ADDR="203.0.113.1").status_code == 200

    def test_unknown_accounts_are_limited_too(self, settings, db):
        settings.LOGIN_ACCOUNT_THROTTLE_RATE = "2/min"
        statuses = [login("ghost@a.example", "wrong-password", REMOTE_ADDR=f"203.0.113.{n}").status_code
                    for n in range(1, 4)]
        assert statuses == [401, 401, 429]

    def test_with_trusted_proxies_the_address_the_proxy_saw_counts(self, settings, victim, tenant):
        settings.NUM_PROXIES = 1
        settings.LOGIN_THROTTLE_RATE = "2/min"
        other = member(tenant, "VIEWER")
        for _ in range(2):
            login(victim.email, "wrong-password", HTTP_X_FORWARDED_FOR="192.0.2.10")
        # A client prepending its own entries still ends in the address our proxy appended.
        spoofed = login(victim.email, HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.10")
        assert spoofed.status_code == 429
        assert login(other.email, HTTP_X_FORWARDED_FOR="192.0.2.11").status_code == 200

    def test_successful_logins_work_under_the_default_rates(self, victim):
        assert [login(victim.email).status_code for _ in range(3)] == [200, 200, 200]


class TestClientAddress:
    @pytest.mark.parametrize("num_proxies, forwarded, expected", [
        (0, "198.51.100.1", "127.0.0.9"),
        (0, "", "127.0.0.9"),
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "10.0.0.1, 198.51.100.1", "198.51.100.1"),
        (2, "10.0.0.1, 198.51.100.1, 192.0.2.1", "198.51.100.1"),
        (3, "198.51.100.1", "198.51.100.1"),
        (1, "", "127.0.0.9"),
    ])
    def test_x_forwarded_for_is_read_only_as_far_as_proxies_are_trusted(self, settings, rf, num_proxies,
                                                                         forwarded, expected):
        settings.NUM_PROXIES = num_proxies
        request = rf.post(LOGIN, REMOTE_ADDR="127.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
        assert client_address(request) == expected

    def test_drf_throttles_read_the_same_setting(self):
        assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == django_settings.NUM_PROXIES == 0


@pytest.mark.django_db
class TestSharedCounters:
    def test_the_default_cache_is_the_database_cache(self):
        assert isinstance(caches["default"], DatabaseCache)

    def test_two_cache_clients_on_one_database_cache_share_the_limit(self, settings, rf):
        settings.LOGIN_THROTTLE_RATE = "4/min"
        worker_caches = [caches.create_connection("default"), caches.create_connection("default")]
        assert worker_caches[0] is not worker_caches[1]
        request = rf.post(LOGIN, REMOTE_ADDR="203.0.113.50")
        allowed = []
        for attempt in range(8):
            throttle = LoginAddressThrottle(client_address(request))
            throttle.cache = worker_caches[attempt % 2]
            allowed.append(throttle.allow_request(request, None))
        assert allowed == [True, True, True, True, False, False, False, False]


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory):
    """A fresh SQLite file brought up by `manage.py migrate tenants` alone (no createcachetable)."""
    path = tmp_path_factory.mktemp("throttle") / "reten.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reten.settings_test", "DATABASE_URL": f"sqlite:///{path}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "tenants", "--noinput", "-v0"], cwd=ROOT, env=env,
                   check=True, timeout=180)
    return path, env


ATTEMPTS_IN_A_WORKER = """
import django, json
django.setup()
from django.test import RequestFactory
from reten.api.throttling import login_attempt_wait
request = RequestFactory().post("/api/auth/login", REMOTE_ADDR="203.0.113.77")
print(json.dumps([login_attempt_wait(request, "victim@a.example") is None for _ in range(3)]))
"""


class TestAcrossProcesses:
    def test_migrate_alone_creates_the_cache_table(self, migrated_database):
        path, _env = migrated_database
        tables = {row[0] for row in sqlite3.connect(path).execute("select name from sqlite_master")}
        assert "reten_cache" in tables

    def test_two_worker_processes_share_one_limit(self, migrated_database):
        _path, env = migrated_database
        env = {**env, "LOGIN_THROTTLE_RATE": "4/min", "LOGIN_ACCOUNT_THROTTLE_RATE": "100000/min"}
        results = []
        for _worker in range(2):
            done = subprocess.run([sys.executable, "-c", ATTEMPTS_IN_A_WORKER], cwd=ROOT, env=env, check=True,
                                  capture_output=True, text=True, timeout=120)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        # Per-process counters would allow 3 + 3.
        assert results == [[True, True, True], [True, False, False]]


# Redis runs in CI next to PostgreSQL (see dispatch/tests/test_celery_redis.py); both marks select that job.
@pytest.mark.redis
@pytest.mark.postgres
def test_two_redis_cache_clients_share_the_limit(settings, rf):
    from django.core.cache.backends.redis import RedisCache

    settings.LOGIN_THROTTLE_RATE = "3/min"
    clients = [RedisCache("redis://127.0.0.1:6379/15", {}), RedisCache("redis://127.0.0.1:6379/15", {})]
    ident = f"203.0.113.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}"
    request = rf.post(LOGIN)
    allowed = []
    try:
        for attempt in range(6):
            throttle = LoginAddressThrottle(ident)
            throttle.cache = clients[attempt % 2]
            allowed.append(throttle.allow_request(request, None))
    finally:
        clients[0].delete(throttle.key)
    assert allowed == [True, True, True, False, False, False]


CACHES_UNDER = """
import importlib, json, os, sys
variants = json.loads(sys.argv[1])
seen = []
for env in variants:
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    os.environ.update(env)
    import reten.settings
    seen.append(importlib.reload(reten.settings).CACHES["default"])
print(json.dumps(seen))
"""


def test_the_cache_is_redis_when_one_is_named_else_the_database():
    variants = [{}, {"REDIS_URL": "redis://cache:6379/1"}, {"CELERY_BROKER_URL": "redis://broker:6379/0"},
                {"CELERY_BROKER_URL": "amqp://broker//"}]
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 50, "RETEN_CREDENTIALS_KEYS": "k:" + "A" * 43 + "="}
    done = subprocess.run([sys.executable, "-c", CACHES_UNDER, json.dumps(variants)], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True, timeout=60)
    database = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "reten_cache"}
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        database,
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://cache:6379/1"},
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://broker:6379/0"},
        database,
    ]


@pytest.mark.django_db
class TestAdminLogin:
    URL = "/admin/login/"

    def test_the_admin_login_counts_against_the_same_limits(self, settings, client, superuser):
        settings.LOGIN_THROTTLE_RATE = "3/min"
        login(superuser.email, "wrong-password")
        wrong = client.post(self.URL, {"username": superuser.email, "password": "wrong-password"})
        assert wrong.status_code == 200 and "_auth_user_id" not in client.session
        client.post(self.URL, {"username": superuser.email, "password": "wrong-password"})
        throttled = client.post(self.URL, {"username": superuser.email, "password": "password123"})
        assert throttled.status_code == 200
        assert "Too many login attempts" in throttled.content.decode()
        assert "_auth_user_id" not in client.session
        assert User.objects.get(pk=superuser.pk).last_login is None

    def test_the_per_account_limit_holds_on_the_admin_across_addresses(self, settings, client, superuser):
        settings.LOGIN_ACCOUNT_THROTTLE_RATE = "2/min"
        for n in range(2):
            client.post(self.URL, {"username": superuser.email.upper(), "password": "wrong-password"},
                        REMOTE_ADDR=f"203.0.113.{n}")
        throttled = client.post(self.URL, {"username": superuser.email, "password": "password123"},
                                REMOTE_ADDR="203.0.113.99")
        assert "Too many login attempts" in throttled.content.decode()
        assert "_auth_user_id" not in client.session

    def test_the_admin_login_still_works(self, client, superuser):
        response = client.post(self.URL, {"username": superuser.email, "password": "password123"})
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(superuser.pk)


@pytest.mark.django_db
class TestResetMyPassword:
    URL = "/api/auth/reset-my-password"

    def test_guessing_the_current_password_is_throttled_per_user(self, settings, victim, tenant, api_as):
        settings.PASSWORD_CHANGE_THROTTLE_RATE = "2/min"
        api = api_as(victim)
        for guess in ("guess-one-1", "guess-two-2"):
            response = api.post(self.URL, {"current_password": guess, "new_password": "brand-new-pass"})
            assert response.status_code == 400
        throttled = api.post(self.URL, {"current_password": "password123", "new_password": "brand-new-pass"})
        assert throttled.status_code == 429
        assert throttled.json()["error"] == "Too Many Requests" and int(throttled["Retry-After"]) > 0
        victim.refresh_from_db()
        assert victim.check_password("password123")
        # Another user is not held back by it.
        other = member(tenant, "VIEWER")
        changed = api_as(other).post(self.URL, {"current_password": "password123", "new_password": "brand-new-pass"})
        assert changed.status_code == 200
