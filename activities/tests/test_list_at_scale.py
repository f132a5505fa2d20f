"""The activity list's paths that keep it flat at scale (issue 15): deep pages, search, the indexes of 0008."""
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from activities.models import Activity
from activities.tests.factories import commerce_with_rep, make_activity
from commerces.models import Commerce

ORDERINGS = ("scheduled_at", "-scheduled_at", "created_at", "-created_at", "score", "-score")


def ids(response):
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["data"]]


@pytest.fixture
def seven(commerce):
    """7 activities with ties on every sort key: equal scores, equal scheduled_at, equal created_at."""
    made = [make_activity(commerce, score=score, scheduled_at=scheduled)
            for score, scheduled in [(5, "2025-01-01T00:00:00Z"), (5, "2025-01-01T00:00:00Z"),
                                     (None, "2025-02-01T00:00:00Z"), (1, "2025-01-01T00:00:00Z"),
                                     (None, "2025-03-01T00:00:00Z"),
                                     (9, "2025-02-01T00:00:00Z"), (5, "2025-03-01T00:00:00Z")]]
    same = timezone.now() - timedelta(hours=1)
    Activity.objects.filter(pk__in=[made[0].pk, made[1].pk, made[3].pk]).update(created_at=same)
    return made


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_pages_past_the_first_are_the_slices_of_the_whole_list(admin_api, seven, ordering):
    whole = ids(admin_api.get("/api/activities", {"ordering": ordering, "per_page": 100}))
    assert sorted(whole) == sorted(str(a.pk) for a in seven)
    paged = []
    for page in (1, 2, 3, 4):
        response = admin_api.get("/api/activities", {"ordering": ordering, "per_page": 2, "page": page})
        assert response.json()["meta"] == {"page": page, "limit": 2, "total": 7, "totalPages": 4}
        paged += ids(response)
    assert paged == whole
    assert ids(admin_api.get("/api/activities", {"ordering": ordering, "per_page": 2, "page": 5})) == []


def test_a_deep_page_costs_the_queries_of_the_first_whatever_its_size(admin_api, seven):
    from django.test.utils import CaptureQueriesContext

    def queries(**params):
        with CaptureQueriesContext(connection) as captured:
            assert ids(admin_api.get("/api/activities", params))
        return len(captured.captured_queries)

    queries(page=1)  # warm the auth caches
    first = queries(page=1, per_page=2)
    assert queries(page=2, per_page=2) == first
    assert queries(page=2, per_page=3) == first
    assert queries(page=7, per_page=1, search="a") == first


def test_search_matches_each_field_in_this_tenant_only(admin_api, tenant, other_tenant):
    shop = commerce_with_rep(tenant, name="Almacén Rosa", external_id="ROSA-1")
    plain = commerce_with_rep(tenant, name="Plain", external_id="PL-1")
    by_reason = make_activity(plain, reason="Win back the rosary buyers")
    by_commerce = make_activity(shop, reason="Nothing to see")
    by_key = make_activity(plain, reason="x", idempotency_key="key-ROSARIO-1")
    by_provider = make_activity(plain, reason="y")
    Activity.objects.filter(pk=by_provider.pk).update(provider_activity_id="prov-rosa-9")
    make_activity(plain, reason="unrelated")
    elsewhere = commerce_with_rep(other_tenant, name="Rosa elsewhere", external_id="ROSA-1")
    make_activity(elsewhere, reason="rosa in another tenant")

    def found(term):
        response = admin_api.get("/api/activities", {"search": term})
        assert response.json()["meta"]["total"] == len(ids(response))
        return set(ids(response))

    assert found("ROSA") == {str(by_reason.pk), str(by_commerce.pk), str(by_key.pk), str(by_provider.pk)}
    assert found("rosa-1") == {str(by_commerce.pk)}
    assert found("almacén") == {str(by_commerce.pk)}
    assert found("PROV-ROSA") == {str(by_provider.pk)}
    assert found("nothing at all") == set()


def _plan(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_postgresql_has_the_trigram_and_score_indexes_and_search_can_use_them(tenant, commerce):
    from activities.selectors import activity_list

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE ANY(%s)",
                       [["%trgm_idx", "activity_tenant_%_idx"]])
        names = {row[0] for row in cursor.fetchall()}
    assert names == {"activity_reason_trgm_idx", "activity_idem_key_trgm_idx", "activity_provider_id_trgm_idx",
                     "commerce_name_trgm_idx", "commerce_external_id_trgm_idx", "activity_tenant_provider_idx",
                     "activity_tenant_type_sched_idx",
                     "activity_tenant_created_id_idx", "activity_tenant_sched_id_idx", "activity_tenant_score_idx",
                     "activity_tenant_score_desc_idx"}
    make_activity(commerce, reason="Payment reminder")
    # The indexes are on the expression `icontains` compiles to, so the query of each search branch can use them.
    for model, field, index in ((Activity, "reason", "activity_reason_trgm_idx"),
                                (Activity, "idempotency_key", "activity_idem_key_trgm_idx"),
                                (Activity, "provider_activity_id", "activity_provider_id_trgm_idx"),
                                (Commerce, "name", "commerce_name_trgm_idx"),
                                (Commerce, "external_id", "commerce_external_id_trgm_idx")):
        sql, params = (model.objects.filter(**{f"{field}__icontains": "remind"}).order_by().values("pk")
                       .query.sql_with_params())  # no ORDER BY: a backward index walk would filter instead
        assert f"Bitmap Index Scan on {index}" in _plan(sql, params)
    for ordering, index in (("-created_at", "activity_tenant_created_id_idx"),
                            ("scheduled_at", "activity_tenant_sched_id_idx"),
                            ("score", "activity_tenant_score_idx"), ("-score", "activity_tenant_score_desc_idx")):
        sql, params = activity_list(tenant=tenant, filters={"ordering": ordering})[:25].query.sql_with_params()
        assert f"Index Scan using {index}" in _plan(sql, params)


@pytest.mark.parametrize("page", [1, 2, 3])
def test_a_search_page_runs_the_search_once_and_joins_only_its_own_rows(admin_api, tenant, page):
    """Issue 15: the page's ids are picked on the bare activities (filters, order, offset), then those rows alone
    are read with their commerce: the search's UNION is not repeated around the ids (it ran twice on every page
    but the first) nor are its matches joined before the sort (on the first)."""
    from django.test.utils import CaptureQueriesContext

    shop = commerce_with_rep(tenant, name="Almacén Rosa", external_id="ROSA-1")
    made = [make_activity(shop, reason=f"Rosa {n}") for n in range(5)]
    expected = [str(a.pk) for a in sorted(made, key=lambda a: (-a.created_at.timestamp(), str(a.pk)))]
    with CaptureQueriesContext(connection) as captured:
        response = admin_api.get("/api/activities", {"search": "rosa", "per_page": 2, "page": page})
    assert ids(response) == expected[(page - 1) * 2 : page * 2]
    assert response.json()["meta"] == {"page": page, "limit": 2, "total": 5, "totalPages": 3}
    searches = [q["sql"] for q in captured.captured_queries if "UNION" in q["sql"]]
    assert len(searches) == 2 and all(sql.count("UNION") == 3 for sql in searches)  # the count and the ids, once
    picks = [sql for sql in searches if " LIMIT 2" in sql]
    assert len(picks) == 1 and " JOIN " not in picks[0].split(" WHERE ")[0]  # the ids, on the bare table
    rows = [q["sql"] for q in captured.captured_queries if 'LEFT OUTER JOIN "commerces_commerce"' in q["sql"]]
    assert len(rows) == 1 and rows[0].count("SELECT") == 1  # the page's rows, by their ids alone


def test_a_page_of_a_queryset_the_pagination_cannot_rebuild_keeps_its_filters_and_annotations(tenant, commerce):
    """An annotated queryset is sliced as it is on the first page and filtered by the page's ids past it: the
    annotation is still there and the rows are the slices of the whole list."""
    from django.db.models import Value
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from reten.api.pagination import PageNumberPagination

    made = [make_activity(commerce) for _ in range(5)]
    other = make_activity(commerce_with_rep(tenant))
    queryset = (Activity.objects.filter(pk__in=[a.pk for a in made]).annotate(tag=Value("x"))
                .order_by("-created_at", "id"))
    whole = [a.pk for a in queryset]
    paged = []
    for page in (1, 2, 3):
        request = Request(APIRequestFactory().get("/", {"page": page, "per_page": 2}))
        rows = PageNumberPagination().paginate_queryset(queryset, request)
        assert {row.tag for row in rows} == {"x"}
        paged += [row.pk for row in rows]
    assert paged == whole and other.pk not in paged
