"""Settings of the HTTP benchmarks (bench/_server.py): the real settings plus bench/_urls.py's baseline routes."""
from reten.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench._urls"
