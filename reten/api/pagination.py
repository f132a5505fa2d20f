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
    """The rows offset..offset+size of `queryset`, in one query. The page's ids are picked on the bare table (the
    queryset's filters and order, OFFSET and LIMIT over its ids alone), then only those rows are read with the
    joins of select_related, under the queryset's order again (issue 15):
    - a deep page of a large tenant otherwise joined every skipped row;
    - a filter that must be evaluated whole before the order applies (a search: its matches come from a UNION)
      otherwise joined every match before the sort kept 25, and the outer query repeated the filter: a search
      matched by 1,556 activities read 1,556 commerce assignments and ran its UNION twice for each page.
    A queryset this cannot rebuild from its model alone (annotations, extra, values, ...) keeps its own filters
    around the ids past the first page, and is sliced as it is on the first."""
    if not isinstance(queryset, QuerySet) or queryset.query.combinator or queryset.query.distinct:
        return queryset[offset : offset + size]
    ids = queryset.values("pk")[offset : offset + size]
    rows = _rows_of(queryset)
    if rows is None:
        return queryset[offset : offset + size] if offset == 0 else queryset.filter(pk__in=ids)
    return rows.filter(pk__in=ids)


def _rows_of(queryset):
    """A queryset of queryset's model, unfiltered, that reads and orders rows as `queryset` does (select_related,
    prefetch_related, only/defer, ordering); None when `queryset` carries more than that."""
    query = queryset.query
    if (query.annotations or query.extra or query.extra_order_by or query.values_select or query.select_for_update
            or query.is_sliced or queryset._iterable_class is not ModelIterable or queryset._fields is not None
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
        self.total = queryset.count() if hasattr(queryset, "count") else len(queryset)
        offset = (self.page_number - 1) * self.per_page
        if offset >= self.total:
            return []  # past the end; also keeps an absurd page number from overflowing the database's OFFSET
        return list(page_of(queryset, offset, self.per_page))

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


