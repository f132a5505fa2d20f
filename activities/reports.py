"""Reports over activities (SPEC 14): counts grouped by up to two keys, and dispatch effectiveness per channel and
result type. Each is one aggregate query on PostgreSQL whatever the number of activities (the effectiveness
percentiles with percentile_cont); SQLite has no percentile aggregate, so there a second query reads the durations
and the same interpolation runs here. The window is on `created_at`, `[from, to]`."""
import math
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Max,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate

from activities.models import Activity, ActivityStatus, TaskResultStatus

MAX_WINDOW_DAYS = 366

# group_by key -> its output columns by name; None: the model field of that name. Operator and route group on the
# id alone and carry their name as MAX(name) — one name per id, so the same rows; grouping on the name too made
# PostgreSQL expect one group per activity (no statistics ties a joined name to an id) and sort 200,000 rows on
# disk instead of hashing a few hundred groups.
GROUPS = {
    "status": {"status": None},
    "channel": {"channel": None},
    "type": {"type": None},
    "reason": {"reason": None},
    "day": {"day": TruncDate("created_at")},
    "result": {"result": F("last_result__result_code")},
    "operator": {"operator": F("task_details__operator_id"), "operator_name": Max("task_details__operator__name")},
    "route": {"route": F("task_details__route_id"), "route_name": Max("task_details__route__name")},
}


def _window(*, tenant, date_from, date_to):
    return Activity.objects.for_tenant(tenant).filter(created_at__gte=date_from, created_at__lte=date_to)


def activities_report(*, tenant, date_from, date_to, group_by: list[str]) -> dict:
    """{rows: [{<keys>, count}], total}: one GROUP BY query."""
    columns = {name: expression for key in group_by for name, expression in GROUPS[key].items()}
    fields = [name for name, expression in columns.items() if expression is None]
    labels = {name: expression for name, expression in columns.items() if isinstance(expression, Aggregate)}
    expressions = {name: expression for name, expression in columns.items()
                   if expression is not None and name not in labels}
    rows = list(_window(tenant=tenant, date_from=date_from, date_to=date_to).order_by()
                .values(*fields, **expressions).annotate(**labels, count=Count("id")).order_by(*columns))
    rows = [{name: row[name] for name in [*columns, "count"]} for row in rows]  # in group_by order
    return {"rows": rows, "total": sum(row["count"] for row in rows)}


# --- effectiveness -----------------------------------------------------------------------------------------------

class Seconds(Func):
    """The seconds of an interval (PostgreSQL) as double precision — NULL stays NULL. date_part, not EXTRACT: since
    PostgreSQL 14 EXTRACT answers numeric, slow to compute and to sort for every row a percentile orders."""

    template = "date_part('epoch', %(expressions)s)"
    output_field = FloatField()


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the continuous percentile of the non-null values."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """The same interpolation as percentile_cont, for the SQLite fallback."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _durations():
    """READY->DISPATCHED (created_at -> dispatched_at) and DISPATCHED->closed (dispatched_at -> completed_at, or
    for a dispatched activity a result failed or canceled, the time that result was stored)."""
    closed_at = Coalesce("completed_at", Case(When(
        Q(status__in=[ActivityStatus.FAILED, ActivityStatus.CANCELED], dispatched_at__isnull=False),
        then=F("last_result__created_at"))))
    return {
        "ready_to_dispatched": ExpressionWrapper(F("dispatched_at") - F("created_at"), output_field=DurationField()),
        "dispatched_to_closed": ExpressionWrapper(closed_at - F("dispatched_at"), output_field=DurationField()),
    }


# COUNT(*) and COUNT(1) FILTER, not COUNT(id): the same figures (id is never null), and the id stays out of the
# rows PostgreSQL sorts for the percentiles (a sort that outgrows work_mem goes to disk).
COUNTS = {
    "count": Count("*"),
    "dispatched": Count(Value(1), filter=Q(dispatched_at__isnull=False)),
    "completed": Count(Value(1), filter=Q(status=ActivityStatus.COMPLETED)),
    "failed": Count(Value(1), filter=Q(status=ActivityStatus.FAILED)),
    "effective": Count(Value(1), filter=Q(last_result__status=TaskResultStatus.EFFECTIVE)),
    "not_effective": Count(Value(1), filter=Q(last_result__status=TaskResultStatus.NOT_EFFECTIVE)),
}
GROUP = {"result_type": F("last_result__result_code")}  # and the channel field


@dataclass(frozen=True)
class Percentiles:
    median: float | None
    p90: float | None


def _row(group, counts, ready: Percentiles, closed: Percentiles) -> dict:
    judged = counts["effective"] + counts["not_effective"]
    return {
        **group, **counts,
        "effectiveness_rate": round(counts["effective"] / judged, 4) if judged else None,
        "ready_to_dispatched_seconds": {"median": ready.median, "p90": ready.p90},
        "dispatched_to_closed_seconds": {"median": closed.median, "p90": closed.p90},
    }


def effectiveness_report(*, tenant, date_from, date_to) -> dict:
    """{rows: [{channel, result_type, count, dispatched, completed, failed, effective, not_effective,
    effectiveness_rate, percentiles}], total}: one query on PostgreSQL, two on SQLite.

    effectiveness_rate = effective / (effective + not_effective): the share of judged tasks that were effective
    (null when none was judged)."""
    window = _window(tenant=tenant, date_from=date_from, date_to=date_to).order_by()
    durations = _durations()
    if connection.vendor == "postgresql":
        aggregates = {
            f"{name}_{label}": PercentileCont(Seconds(expression), fraction)
            for name, expression in durations.items() for label, fraction in (("median", 0.5), ("p90", 0.9))
        }
        found = window.values("channel", **GROUP).annotate(**COUNTS, **aggregates).order_by("channel", "result_type")
        rows = [_row({"channel": row["channel"], "result_type": row["result_type"]}, {key: row[key] for key in COUNTS},
                     Percentiles(row["ready_to_dispatched_median"], row["ready_to_dispatched_p90"]),
                     Percentiles(row["dispatched_to_closed_median"], row["dispatched_to_closed_p90"]))
                for row in found]
    else:
        found = list(window.values("channel", **GROUP).annotate(**COUNTS).order_by("channel", "result_type"))
        seconds = defaultdict(lambda: {name: [] for name in durations})
        for channel, result_type, *values in (window.filter(dispatched_at__isnull=False).annotate(**durations)
                                              .values_list("channel", "last_result__result_code", *durations)):
            for name, value in zip(durations, values, strict=True):
                if value is not None:
                    seconds[(channel, result_type)][name].append(value.total_seconds())
        rows = []
        for row in found:
            measured = seconds[(row["channel"], row["result_type"])]
            rows.append(_row({"channel": row["channel"], "result_type": row["result_type"]},
                             {key: row[key] for key in COUNTS}, *(
                Percentiles(percentile_cont(measured[name], 0.5), percentile_cont(measured[name], 0.9))
                for name in durations)))
    return {"rows": rows, "total": sum(row["count"] for row in rows)}
