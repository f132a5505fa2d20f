"""Page-number pagination with the {data, meta} envelope of SPEC section 1."""
import math

from django.db.models import QuerySet
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
    """The rows offset..offset+size of `queryset`. Past the first page of a QuerySet, the OFFSET walks only the
    bare table (its ids, in the queryset's order) and the joins of select_related are made for the page's rows
    alone: a deep page of a large tenant otherwise joined every skipped row (issue 15). Same single query."""
    if offset == 0 or not isinstance(queryset, QuerySet) or queryset.query.combinator or queryset.query.distinct:
        return queryset[offset : offset + size]
    ids = queryset.values("pk")[offset : offset + size]
    return queryset.filter(pk__in=ids)


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


