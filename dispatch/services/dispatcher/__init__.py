"""The dispatcher (SPEC 5.3): claim due READY activities, call providers with no row lock held, record outcomes.

A pass: find tenants with due work, claim up to DISPATCH_BATCH_SIZE activities per tenant in one short
transaction each (`select_for_update(skip_locked=True)`, attempt count + 1, a lease in `next_attempt_at`),
commit, then call the providers from a small thread pool, taking the tenants' activities in turn, and
record every outcome in short transactions of its own. A worker that dies leaves leases that expire by
themselves; the next claim re-sends with the same Idempotency-Key (the activity id). A lost database
connection loses nothing in memory (faults.py).

One module per noun, each importing only those above it in this list:
  faults.py        a lost database connection: reconnect and try again, or end a worker's run with one log line
  report.py        DispatchReport: what a pass did
  claims.py        what is due, per-tenant quotas, the claim with its lease, handing a claim back
  sending.py       payloads, ON_DISPATCH resolution, the provider calls in a thread pool (CallTiming, LeaseExpired)
  recording.py     OutcomeRecorder: outcomes, status events and attempt rows in short transactions; the backoff
  entry_points.py  process_claims (send, then record) and the entry points: dispatch_pass,
                   dispatch_activities_if_due, dispatch_activity_if_due, dispatch_now
The names the rest of the code uses are importable from here.
"""
from dispatch.services.dispatcher.claims import (
    Claim,
    _not_waiting,
    claim_due,
    due_tenants,
    due_without_config_count,
    hand_back_claims,
    handing_back_on_fault,
    lead_seconds,
)
from dispatch.services.dispatcher.entry_points import (
    dispatch_activities_if_due,
    dispatch_activity_if_due,
    dispatch_now,
    dispatch_pass,
    process_claims,
)
from dispatch.services.dispatcher.faults import (
    TRANSIENT_DATABASE_ERRORS,
    describe_database_error,
    drop_broken_connection,
    surviving_database_faults,
    with_reconnect,
)
from dispatch.services.dispatcher.recording import OutcomeRecorder, backoff_seconds
from dispatch.services.dispatcher.report import DispatchReport, lease_too_short_message
from dispatch.services.dispatcher.sending import CallTiming, LeaseExpired

__all__ = [
    "TRANSIENT_DATABASE_ERRORS",
    "CallTiming",
    "Claim",
    "DispatchReport",
    "LeaseExpired",
    "OutcomeRecorder",
    "_not_waiting",
    "backoff_seconds",
    "claim_due",
    "describe_database_error",
    "dispatch_activities_if_due",
    "dispatch_activity_if_due",
    "dispatch_now",
    "dispatch_pass",
    "drop_broken_connection",
    "due_tenants",
    "due_without_config_count",
    "hand_back_claims",
    "handing_back_on_fault",
    "lead_seconds",
    "lease_too_short_message",
    "process_claims",
    "surviving_database_faults",
    "with_reconnect",
]
