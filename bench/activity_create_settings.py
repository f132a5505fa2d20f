"""Settings for bench/activity_create.py: the real settings plus a URLconf with the baseline endpoint."""
from reten.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.activity_create_urls"
