"""What a pass did: the counters of a DispatchReport, per tenant too, and the line logged when every claim was
handed back unsent because the lease leaves no time for the call."""
from dataclasses import dataclass, field

from django.conf import settings


@dataclass
class DispatchReport:
    """What one pass (or one single dispatch) did. `no_config` due activities were skipped, not attempted."""

    tenants: int = 0
    claimed: int = 0
    dispatched: int = 0
    retrying: int = 0
    failed: int = 0
    unresolved: int = 0
    no_config: int = 0
    released: int = 0
    superseded: int = 0
    by_tenant: dict = field(default_factory=dict)

    COUNTERS = ("tenants", "claimed", "dispatched", "retrying", "failed", "unresolved", "no_config", "released",
                "superseded")

    def count(self, name, tenant_id, amount=1):
        setattr(self, name, getattr(self, name) + amount)
        per_tenant = self.by_tenant.setdefault(str(tenant_id), {})
        per_tenant[name] = per_tenant.get(name, 0) + amount

    def merge(self, other):
        for name in self.COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for tenant_id, counts in other.by_tenant.items():
            mine = self.by_tenant.setdefault(tenant_id, {})
            for name, amount in counts.items():
                mine[name] = mine.get(name, 0) + amount
        return self

    @property
    def attempted(self):
        return self.dispatched + self.retrying + self.failed

    @property
    def released_everything(self):
        """Every claim handed back unsent because its lease left no time for the call: the lease is too short."""
        return self.claimed > 0 and self.released == self.claimed and self.attempted == 0

    def as_dict(self):
        return {"tenants": self.tenants, "claimed": self.claimed, "dispatched": self.dispatched,
                "retrying": self.retrying, "failed": self.failed, "unresolved": self.unresolved,
                "noConfig": self.no_config, "released": self.released, "superseded": self.superseded}

    def summary(self):
        return " ".join(f"{key}={value}" for key, value in self.as_dict().items())


def lease_too_short_message(report):
    return (f"All {report.claimed} claimed activities were released unsent: DISPATCH_LEASE_SECONDS "
            f"({settings.DISPATCH_LEASE_SECONDS}) must exceed DISPATCH_HTTP_TIMEOUT "
            f"({settings.DISPATCH_HTTP_TIMEOUT:g}) so a provider call can end before its lease does")
