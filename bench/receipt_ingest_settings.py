"""Settings for bench/receipt_ingest.py: the real settings plus a URLconf with the baseline endpoint."""
from reten.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.receipt_ingest_urls"
