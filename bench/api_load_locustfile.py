"""Locust users for bench/api_load.py (run by it as `locust --headless`; not a test module).

BENCH_LOAD_DATA names a JSON file written by the benchmark: per tenant an API key and the ids to work on.
BENCH_LOAD_MODE is `mixed` (the product's routes, weighted as below) or `ceiling` (GET /bench/ceiling only).
Every user keeps one tenant (users go round-robin over the tenants). A response with an unexpected status is a
failure whose message starts with its status code, so the benchmark can count 5xx among the failures.
"""
import itertools
import json
import os
import random

from locust import FastHttpUser, constant, task

DATA = json.loads(open(os.environ["BENCH_LOAD_DATA"]).read())
MODE = os.environ.get("BENCH_LOAD_MODE", "mixed")
RUN = os.environ.get("BENCH_LOAD_RUN", "0")  # keeps idempotency keys and result times apart between runs
TENANTS = DATA["tenants"]
_next_user = itertools.count()
_cancel_cursor = [itertools.count() for _ in TENANTS]
_serial = itertools.count()


def moment(n):
    """A distinct occurred_at per request of this run (results and receipts are deduplicated on it)."""
    return (f"2025-{int(RUN) % 12 + 1:02d}-{1 + n // 86400 % 28:02d}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:"
            f"{n % 60:02d}Z")


def check(response, expected):
    if response.status_code != expected:
        response.failure(f"{response.status_code} {response.text[:200] if response.text else ''}")
    else:
        response.success()


class Mixed(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.index = next(_next_user) % len(TENANTS)
        self.tenant = TENANTS[self.index]
        self.headers = {"x-api-key": self.tenant["api_key"], "content-type": "application/json"}

    def _get(self, url, name, expected=200):
        with self.client.get(url, headers=self.headers, name=name, catch_response=True) as response:
            check(response, expected)

    def _send(self, method, url, name, body, expected):
        with self.client.request(method, url, headers=self.headers, name=name, data=json.dumps(body),
                                 catch_response=True) as response:
            check(response, expected)

    def _create_body(self, n):
        return {"type": "MESSAGE", "reason": "Load win back", "channel": "WHATSAPP",
                "commerce_id": random.choice(self.tenant["commerce_ids"]), "idempotency_key": f"load-{RUN}-{n}",
                "scheduled_at": "2030-01-16T09:00:00Z", "score": n % 10, "attribute_keys": ["commerce_info"]}

    if MODE == "ceiling":
        @task
        def ceiling(self):
            self._get("/bench/ceiling", "GET /bench/ceiling")
    else:
        @task(4)
        def activity_list(self):
            page = random.randint(1, 20)
            query = random.choice(["", "&status=READY", "&ordering=score", "&search=Store 1", "&channel=SMS"])
            self._get(f"/api/activities?page={page}&per_page=25{query}", "GET /api/activities")

        @task(3)
        def activity_detail(self):
            self._get(f"/api/activities/{random.choice(self.tenant['detail_ids'])}", "GET /api/activities/:id")

        @task(2)
        def create(self):
            self._send("POST", "/api/activities", "POST /api/activities", self._create_body(next(_serial)), 201)

        @task(1)
        def bulk_create(self):
            items = [self._create_body(next(_serial)) for _ in range(DATA["bulk_size"])]
            with self.client.post("/api/activities/bulk", headers=self.headers, name="POST /api/activities/bulk",
                                  data=json.dumps({"items": items}), catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"{response.status_code} {response.text[:200]}")
                elif response.json().get("created") != len(items):
                    response.failure(f"200 bulk created {response.json().get('created')} of {len(items)}")
                else:
                    response.success()

        @task(1)
        def cancel(self):
            ids = self.tenant["cancel_ids"][int(RUN) % 4::4]  # each run cancels its own quarter of the pool
            position = next(_cancel_cursor[self.index])
            if position >= len(ids):  # the pool is used up: cancel is refused (400) for a canceled one
                position = random.randrange(len(ids))
                return self._send("PATCH", f"/api/activities/{ids[position]}/cancel", "PATCH cancel (again)",
                                  {"reason": "load"}, 400)
            self._send("PATCH", f"/api/activities/{ids[position]}/cancel", "PATCH /api/activities/:id/cancel",
                       {"reason": "load"}, 200)

        @task(2)
        def result(self):
            activity_id, commerce_external_id = random.choice(self.tenant["task_ids"])
            n = next(_serial)
            body = {"activity_id": activity_id, "commerce_external_id": commerce_external_id,
                    "occurred_at": moment(n),
                    "status": "PENDING", "task_result": {"result": "VISITED", "comment": "load"},
                    "raw_payload": {"run": RUN}}
            self._send("POST", "/api/integration/activity-results/tasks", "POST integration result", body, 201)

        @task(2)
        def receipt(self):
            n = next(_serial)
            body = {"activity_id": random.choice(self.tenant["message_ids"]), "status": "SENT",
                    "occurred_at": moment(n)}
            self._send("POST", "/api/integration/delivery-receipts", "POST integration receipt", body, 201)

        @task(2)
        def task_list(self):
            status = random.choice(["", "&status=IN_PROGRESS", "&status=PENDING"])
            self._get(f"/api/integration/activities/tasks?page={random.randint(1, 10)}{status}",
                      "GET /api/integration/activities/tasks")
