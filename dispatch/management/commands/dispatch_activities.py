"""`manage.py dispatch_activities [--loop [--interval S]] [--tenant SLUG] [--limit N]` (SPEC 5.3).

The loop outlives a lost database connection (SPEC 10): the pass hands back what it could not send, the
loop logs one line, waits (doubling up to MAX_BACKOFF_SECONDS) and carries on; only SIGINT/SIGTERM stop it.
"""
import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils import timezone

from dispatch.hooks import run_pass_steps
from dispatch.services import DispatchReport, dispatch_pass
from dispatch.services.dispatcher import (
    TRANSIENT_DATABASE_ERRORS,
    describe_database_error,
    drop_broken_connection,
    lease_too_short_message,
)
from tenants.models import Tenant

logger = logging.getLogger("reten.dispatch")

FIRST_BACKOFF_SECONDS = 1
MAX_BACKOFF_SECONDS = 30


class Command(BaseCommand):
    help = "Dispatch due READY activities: one pass, or passes every --interval seconds with --loop."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running passes until SIGINT/SIGTERM.")
        parser.add_argument("--interval", type=float, default=None,
                            help="Seconds between passes with --loop (default DISPATCH_INTERVAL_SECONDS).")
        parser.add_argument("--tenant", help="Only this tenant (slug).")
        parser.add_argument("--limit", type=int, default=None, help="At most this many activities per pass.")

    def handle(self, *args, loop=False, interval=None, tenant=None, limit=None, **options):
        interval = settings.DISPATCH_INTERVAL_SECONDS if interval is None else interval
        if interval <= 0:
            raise CommandError(f"--interval must be a positive number of seconds, got {interval:g}")
        if limit is not None and limit < 1:
            raise CommandError(f"--limit must be at least 1, got {limit}")
        tenant_obj = None
        if tenant is not None:
            tenant_obj = Tenant.objects.filter(slug=tenant).first()
            if tenant_obj is None:
                raise CommandError(f"Unknown tenant slug {tenant!r}")
        if not loop:
            report = dispatch_pass(tenant=tenant_obj, limit=limit)
            self.stdout.write(f"Dispatch pass: {report.summary()}")
            for summary in run_pass_steps():
                self.stdout.write(summary)
            if report.released_everything:  # a pass that can never send anything must not look like success
                raise CommandError(lease_too_short_message(report))
            return
        self._loop(tenant_obj, limit, interval)

    def _loop(self, tenant, limit, interval):
        stop = threading.Event()
        previous = {}

        def request_stop(signum, frame):
            if stop.is_set():  # a second signal: leave now; unsent claims come back when their lease ends
                raise SystemExit(128 + signum)
            stop.set()
            self.stderr.write(f"Received {signal.Signals(signum).name}; stopping after this pass.")

        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, request_stop)
        totals, passes, backoff = DispatchReport(), 0, FIRST_BACKOFF_SECONDS
        self.stdout.write(f"Dispatching every {interval:g}s" + (f" for tenant {tenant.slug}" if tenant else "")
                          + ". Ctrl-C stops.")
        try:
            while not stop.is_set():
                try:
                    self._refresh_connection()
                    report = dispatch_pass(tenant=tenant, limit=limit)
                    step_summaries = run_pass_steps()
                except TRANSIENT_DATABASE_ERRORS as exc:
                    logger.warning("Database connection lost during a dispatch pass (%s); trying again in %gs",
                                   describe_database_error(exc), backoff)
                    drop_broken_connection()
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                backoff = FIRST_BACKOFF_SECONDS
                passes += 1
                totals.merge(report)
                if report.claimed or report.no_config:
                    self.stdout.write(f"{timezone.now():%Y-%m-%dT%H:%M:%SZ} pass {passes}: {report.summary()}")
                for summary in step_summaries:
                    self.stdout.write(f"{timezone.now():%Y-%m-%dT%H:%M:%SZ} pass {passes}: {summary}")
                stop.wait(interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            try:
                self._refresh_connection()
            except TRANSIENT_DATABASE_ERRORS:
                drop_broken_connection()
        self.stdout.write(f"Stopped after {passes} pass(es): {totals.summary()}")

    @staticmethod
    def _refresh_connection():
        """Between passes, drop a broken or expired connection (as Django does between requests)."""
        if not connection.in_atomic_block:  # inside a caller's transaction (tests) the connection is theirs
            close_old_connections()
