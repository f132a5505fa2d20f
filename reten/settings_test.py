"""Settings for the test suite: the real settings with development secrets filled in."""
import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop")
os.environ.setdefault("RETEN_CREDENTIALS_KEYS", "test:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("LOGIN_THROTTLE_RATE", "100000/min")  # throttle tests lower these via `settings`
os.environ.setdefault("LOGIN_ACCOUNT_THROTTLE_RATE", "100000/min")
os.environ.setdefault("PASSWORD_CHANGE_THROTTLE_RATE", "100000/min")
# The stub providers listen on 127.0.0.1 over http; the URL-safety tests turn both off with `settings`.
os.environ.setdefault("RETEN_ALLOW_PRIVATE_URLS", "true")
os.environ.setdefault("RETEN_ALLOW_INSECURE_URLS", "true")

from reten.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests only
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
# The database cache even when the environment names a Redis: its rows live in the test database, so every
# test starts with empty throttle counters (the test transaction rolls them back).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "reten_cache"}}
