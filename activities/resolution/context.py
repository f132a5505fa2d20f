"""What resolution reads, loaded once per batch of activities: one query per kind of data, whatever the batch size."""
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Max
from django.db.models.functions import Coalesce

from commerces.models import Address, CommerceUser
from reten.http import outbound_client


@dataclass
class Candidate:
    """An active commerce user as resolution sees them: roles and the types of their active contacts."""

    id: object
    created_at: object
    first_name: str = ""
    last_name: str = ""
    roles: set = field(default_factory=set)
    contact_types: set = field(default_factory=set)


@dataclass(frozen=True)
class Subject:
    """The activity being resolved: enough to resolve it before or after it is saved."""

    tenant_id: object
    activity_id: object
    type: str
    channel: str
    commerce: object  # commerces.Commerce


class ResolutionContext:
    def __init__(self, *, commerces):
        self.commerces = {commerce.pk: commerce for commerce in commerces}
        self._candidates = None
        self._last_contacted = None
        self._addresses = None
        self._http = None

    # --- people -----------------------------------------------------------------------------------------------

    def candidates(self, commerce_id):
        """Active users of the commerce, keyed by id, oldest first (a stable tie-break)."""
        if self._candidates is None:
            self._candidates = self._load_candidates()
        return self._candidates.get(commerce_id, {})

    def _load_candidates(self):
        # Users with their roles and contacts in one round trip (one row per role x contact pair).
        rows = CommerceUser.objects.filter(commerce_id__in=list(self.commerces), is_active=True).values_list(
            "id", "commerce_id", "created_at", "first_name", "last_name", "role_assignments__role",
            "contacts__contact_type", "contacts__is_active",
        ).order_by()
        by_commerce = defaultdict(dict)
        for user_id, commerce_id, created_at, first_name, last_name, role, contact_type, contact_active in rows:
            candidate = by_commerce[commerce_id].setdefault(user_id, Candidate(
                id=user_id, created_at=created_at, first_name=first_name, last_name=last_name))
            if role:
                candidate.roles.add(role)
            if contact_type and contact_active:
                candidate.contact_types.add(contact_type)
        return {
            commerce_id: dict(sorted(
                ((user_id, c) for user_id, c in users.items() if c.roles or c.contact_types),
                key=lambda item: (item[1].created_at, str(item[0])),
            ))
            for commerce_id, users in by_commerce.items()
        }

    def last_contacted(self, commerce_id, channel=None):
        """Commerce user ids most recently targeted by a DISPATCHED or COMPLETED activity, newest first."""
        if self._last_contacted is None:
            self._last_contacted = self._load_last_contacted()
        times = defaultdict(lambda: None)
        for (commerce, user_id, activity_channel), at in self._last_contacted.items():
            if commerce == commerce_id and (channel is None or activity_channel == channel):
                if times[user_id] is None or at > times[user_id]:
                    times[user_id] = at
        return [user_id for user_id, _ in sorted(times.items(), key=lambda item: item[1], reverse=True)]

    def _load_last_contacted(self):
        from activities.models import ActivityStatus, TargetUser

        rows = (
            TargetUser.objects.filter(
                activity__commerce_assignment__commerce_id__in=list(self.commerces),
                activity__status__in=[ActivityStatus.DISPATCHED, ActivityStatus.COMPLETED],
                commerce_user__isnull=False,
            )
            .values_list("activity__commerce_assignment__commerce_id", "commerce_user_id", "activity__channel")
            .annotate(last=Max(Coalesce("activity__dispatched_at", "activity__created_at")))
            .order_by()
        )
        return {(commerce_id, user_id, channel): last for commerce_id, user_id, channel, last in rows}

    # --- data -------------------------------------------------------------------------------------------------

    def primary_address(self, commerce_id):
        if self._addresses is None:
            self._addresses = {}
            addresses = Address.objects.filter(commerce_id__in=list(self.commerces), is_active=True, is_primary=True)
            for address in addresses:
                self._addresses[address.commerce_id] = address
        return self._addresses.get(commerce_id)

    @property
    def http(self):
        """One connection pool for every client hook called while resolving this batch (vetted connects only,
        no redirects followed)."""
        if self._http is None:
            self._http = outbound_client(timeout=settings.ATTRIBUTE_HOOK_TIMEOUT_SECONDS)
        return self._http

    def close(self):
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
