"""Target-user resolution (SPEC 4.5): criteria in priority order, then the fallbacks, only people reachable on
the activity's channel. A new criterion is one function registered with @criterion."""
from collections.abc import Callable
from dataclasses import dataclass

from activities.models import Channel, CriterionType, LockReason
from commerces.models import CommerceUserRole, ContactType

# Which active contact makes a person reachable on a channel; None = any contact type.
CHANNEL_CONTACT_TYPES = {
    Channel.WHATSAPP: frozenset({ContactType.WHATSAPP, ContactType.PHONE}),
    Channel.SMS: frozenset({ContactType.PHONE}),
    Channel.CALLCENTER: frozenset({ContactType.PHONE}),
    Channel.EMAIL: frozenset({ContactType.EMAIL}),
    Channel.SALESMAN: None,
    Channel.PUSH: None,
}


def is_reachable(candidate, channel):
    """A target user must have an active contact usable on the activity's channel."""
    usable = CHANNEL_CONTACT_TYPES.get(channel)
    if usable is None:
        return bool(candidate.contact_types)
    return bool(candidate.contact_types & usable)


@dataclass(frozen=True)
class Criterion:
    resolve: Callable  # (*, context, subject, candidates, config) -> commerce user id | None
    validate_config: Callable  # (config) -> list of problems


CRITERIA: dict[str, Criterion] = {}


def criterion(name, *, validate_config=lambda config: []):
    def register(function):
        CRITERIA[name] = Criterion(resolve=function, validate_config=validate_config)
        return function

    return register


def _validate_role_config(config):
    role = (config or {}).get("role") if isinstance(config, dict) else None
    if role not in CommerceUserRole.values:
        return [f"config.role must be one of {', '.join(CommerceUserRole.values)}."]
    return []


def _first_with_role(candidates, role):
    return next((user_id for user_id, candidate in candidates.items() if role in candidate.roles), None)


@criterion(CriterionType.ROLE_MATCH, validate_config=_validate_role_config)
def role_match(*, context, subject, candidates, config):
    """The first reachable user holding the configured role."""
    return _first_with_role(candidates, config["role"])


@criterion(CriterionType.LAST_CONTACTED_SAME_CHANNEL)
def last_contacted_same_channel(*, context, subject, candidates, config):
    """The reachable user most recently targeted by a dispatched or completed activity on this channel."""
    recent = context.last_contacted(subject.commerce.pk, subject.channel)
    return next((user_id for user_id in recent if user_id in candidates), None)


@criterion(CriterionType.LAST_CONTACTED_ALL_CHANNELS)
def last_contacted_all_channels(*, context, subject, candidates, config):
    """The reachable user most recently targeted by a dispatched or completed activity on any channel."""
    recent = context.last_contacted(subject.commerce.pk)
    return next((user_id for user_id in recent if user_id in candidates), None)


# The fallbacks, in order: (flag on the config / target, lock reason, role).
FALLBACKS = [
    ("fallback_to_commerce_rep", LockReason.FALLBACK_COMMERCE_REP, CommerceUserRole.COMMERCE_REP),
    ("fallback_to_owner", LockReason.FALLBACK_OWNER, CommerceUserRole.OWNER),
]


def validate_criteria(criteria):
    """Problems per index: {"0.type": [...]} for a list of {type, config, priority}."""
    problems = {}
    if not isinstance(criteria, list):
        return {"": ["Must be a list of {type, config, priority}."]}
    for index, item in enumerate(criteria):
        if not isinstance(item, dict):
            problems[f"{index}"] = ["Must be an object {type, config, priority}."]
            continue
        entry = CRITERIA.get(item.get("type"))
        if entry is None:
            problems[f"{index}.type"] = [f"Must be one of {', '.join(sorted(CRITERIA))}."]
            continue
        priority = item.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            problems[f"{index}.priority"] = ["Must be an integer."]
        config = item.get("config") or {}
        if not isinstance(config, dict):
            problems[f"{index}.config"] = ["Must be an object."]
            continue
        config_problems = entry.validate_config(config)
        if config_problems:
            problems[f"{index}.config"] = config_problems
    return problems


def normalize_criteria(criteria):
    """Sorted by priority (stable), each with a config object."""
    items = [{"type": c["type"], "config": c.get("config") or {}, "priority": c.get("priority", 0)}
             for c in criteria or []]
    return sorted(items, key=lambda item: item["priority"])


@dataclass(frozen=True)
class TargetOutcome:
    commerce_user_id: object = None
    lock_reason: str | None = None
    error: str = ""

    @property
    def resolved(self):
        return self.commerce_user_id is not None


def resolve_target(*, context, subject, criteria, fallback_to_commerce_rep=True, fallback_to_owner=True):
    """Try each criterion in priority order, then the enabled fallbacks; say why when nobody fits."""
    everyone = context.candidates(subject.commerce.pk)
    candidates = {user_id: c for user_id, c in everyone.items() if is_reachable(c, subject.channel)}
    for item in normalize_criteria(criteria):
        entry = CRITERIA.get(item["type"])
        if entry is None:
            continue
        user_id = entry.resolve(context=context, subject=subject, candidates=candidates, config=item["config"])
        if user_id is not None:
            return TargetOutcome(commerce_user_id=user_id, lock_reason=LockReason.CRITERIA_MATCH)
    flags = {"fallback_to_commerce_rep": fallback_to_commerce_rep, "fallback_to_owner": fallback_to_owner}
    for flag, lock_reason, role in FALLBACKS:
        if flags[flag]:
            user_id = _first_with_role(candidates, role)
            if user_id is not None:
                return TargetOutcome(commerce_user_id=user_id, lock_reason=lock_reason)
    if not everyone:
        reason = "the commerce has no active user with a role or contact"
    elif not candidates:
        reason = f"no active commerce user has an active contact usable on {subject.channel}"
    else:
        tried = [item["type"] for item in normalize_criteria(criteria)]
        tried += [role for flag, _, role in FALLBACKS if flags[flag]]
        reason = f"no reachable commerce user matched ({', '.join(tried) or 'no criteria, fallbacks disabled'})"
    return TargetOutcome(error=reason)
