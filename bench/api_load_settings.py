"""Settings for bench/api_load.py: the real settings plus a URLconf with the ceiling endpoint."""
from reten.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.api_load_urls"
