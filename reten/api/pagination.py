"""Page-number pagination with the {data, meta} envelope of SPEC section 1."""
import copy
import math

from django.db.models import QuerySet
from django.db.models.query import ModelIterable
from rest_framework import pagination
from rest_framework.response import Response

from reten.errors import ValidationFailed

MAX_PER_PAGE = 100


def read_positive_int(query_params, names, default):
    for name in names:
        raw = query_params.get(name)
        if raw is None:
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0
        if value < 1:
            raise ValidationFailed(
                f"{name} must be a whole number of at least 1",
                details={name: ["Must be a whole number of at least 1."]},
            )
        return value
    return default


def page_of(queryset, offset, size):
    """The rows offset..offset+size of `queryset`. The page's ids are picked first on the bare table (the queryset's
    filters and order, OFFSET and LIMIT over its ids alone), then only those rows are read, by id, with the joins
    of select_related and the queryset's order (issue 15). Two short queries instead of one that
    - on a deep page of a large tenant joined every skipped row;
    - on a search (its matches come from a UNION, evaluated whole before the order applies) joined every match
      (1,556 at 1M) to its commerce before the sort kept 25, and past page 1 ran the UNION a second time;
    - with the ids as a subquery (`id IN (SELECT ... LIMIT 25)`), on a list of many joins (the integration task
      list: 9 tables, past PostgreSQL's join_collapse_limit), hash-joined the whole table before keeping 25 rows.
    A queryset this cannot rebuild from its model alone (annotations, extra, values, ...) is sliced as it is."""
    rows = _rows_of(queryset) if isinstance(queryset, QuerySet) else None
    if rows is None:
        return queryset[offset : offset + size]
    ids = list(queryset.values_list("pk", flat=True)[offset : offset + size])
    return rows.filter(pk__in=ids) if ids else []


def _rows_of(queryset):
    """A queryset of queryset's model, unfiltered, that reads and orders rows as `queryset` does (select_related,
    prefetch_related, only/defer, ordering); None when `queryset` carries more than that."""
    query = queryset.query
    if (query.combinator or query.distinct or query.annotations or query.extra or query.extra_order_by
            or query.values_select or query.select_for_update or query.is_sliced
            or queryset._iterable_class is not ModelIterable or queryset._fields is not None
            or any(isinstance(term, str) and term == "?" for term in query.order_by)):
        return None
    rows = queryset.model._base_manager.db_manager(queryset.db).all()
    rows.query.select_related = copy.deepcopy(query.select_related)
    rows.query.max_depth = query.max_depth
    rows.query.deferred_loading = query.deferred_loading
    rows._prefetch_related_lookups = queryset._prefetch_related_lookups
    if query.order_by:
        rows = rows.order_by(*query.order_by)
    elif not query.default_ordering:
        rows = rows.order_by()
    return rows


class PageNumberPagination(pagination.BasePagination):
    default_per_page = 25
    max_per_page = MAX_PER_PAGE

    def paginate_queryset(self, queryset, request, view=None):
        self.page_number = read_positive_int(request.query_params, ["page"], 1)
        self.per_page = min(
            read_positive_int(request.query_params, ["per_page", "limit"], self.default_per_page),
            self.max_per_page,
        )
        self.total = self.total_of(queryset, view)
        offset = (self.page_number - 1) * self.per_page
        if offset >= self.total:
            return []  # past the end; also keeps an absurd page number from overflowing the database's OFFSET
        return list(page_of(queryset, offset, self.per_page))

    @staticmethod
    def total_of(queryset, view):
        """The view's `list_total()` when it knows the total without counting (None when it does not), else the
        queryset's count."""
        known = view.list_total() if hasattr(view, "list_total") else None
        if known is not None:
            return known
        return queryset.count() if hasattr(queryset, "count") else len(queryset)

    def get_paginated_response(self, data):
        return Response({"data": data, "meta": self.meta()})

    def meta(self):
        return {
            "page": self.page_number,
            "limit": self.per_page,
            "total": self.total,
            "total_pages": math.ceil(self.total / self.per_page) if self.total else 0,
        }

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": schema,
                "meta": {
                    "type": "object",
                    "required": ["page", "limit", "total", "totalPages"],
                    "properties": {
                        "page": {"type": "integer", "example": 1},
                        "limit": {"type": "integer", "example": 25},
                        "total": {"type": "integer", "example": 42},
                        "totalPages": {"type": "integer", "example": 2},
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view):
        def param(name, description):
            return {"name": name, "required": False, "in": "query", "description": description,
                    "schema": {"type": "integer", "minimum": 1}}

        return [
            param("page", "Page number, from 1."),
            param("per_page", f"Items per page (default {self.default_per_page}, clamped to {MAX_PER_PAGE})."),
            param("limit", "Alias of per_page."),
        ]


class SmallPageNumberPagination(PageNumberPagination):
    default_per_page = 20


