"""Docs that cannot rot: every HTTP example in docs/*.md is replayed against the app.

The format (docs/README.md, "How the examples are tested"):

    ```http
    POST /api/activities
    Authorization: Bearer {{accessToken}}
    x-tenant-id: {{tenantId}}

    {"type": "TASK", ...}
    ```

    ```json 201
    {"status": "READY"}
    ```
    <!-- capture: activityId = id -->

- The `http` block: `METHOD /path?query`, header lines, a blank line, an optional JSON body.
- The `json NNN` block right after it: the expected status and a subset of the response body (objects: the keys
  shown must be there with those values; lists: the items shown match the first items, in order; a string ending
  in `...` matches any string starting with what precedes it). An empty block checks the status only.
- `{{name}}` placeholders (in the request and in the expected response) are filled from the world the test
  builds (seed_demo) and from captures: a comment
  `<!-- capture: name = dotted.path, other = data.0.id -->` after a response stores values of that response.
  What a reader has before a page starts: `{{accessToken}}` (an ADMIN of `demo`), `{{tenantId}}`, `{{now}}` (ISO
  time), `{{timestamp}}` (the same time in Unix seconds) and `{{metricsToken}}` (the METRICS_TOKEN the test sets).
- A non-JSON response (`/metrics`) is checked by a ```text <status> block instead: every line it shows must be a
  line of the response body (a line ending in `...` matches a line starting with what precedes it).
- Signed requests (the provider callback, Standard Webhooks): a comment `<!-- sign: secret = callbackSecret -->`
  right before the ```http block names the variable holding the `whsec_...` secret; in that request
  `{{signature}}` becomes `v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>`, computed from
  the request's own `webhook-id` and `webhook-timestamp` headers and its body after the other placeholders are
  filled — what `standardwebhooks.Webhook(secret).sign(id, timestamp, body)` gives a provider.
Each file is replayed in order with one client (cookies kept); the first example that differs fails the test,
naming the file and line.
"""
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(`{3,})([^`\s]*)[ \t]*(.*)$")
REQUEST_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/\S*)$")
HEADER_LINE = re.compile(r"^([A-Za-z0-9-]+):[ \t]*(.*)$")
CAPTURE = re.compile(r"^<!--\s*capture:\s*(.*?)\s*-->\s*$")
SIGN = re.compile(r"^<!--\s*sign:\s*(.*?)\s*-->\s*$")
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class DocsFormatError(Exception):
    pass


@dataclass
class Example:
    file: str
    line: int
    method: str
    path: str
    headers: dict
    body: str
    status: int = 0
    expected: object = None
    captures: list = field(default_factory=list)
    kind: str = "json"  # or "text": `expected` is then a list of lines
    signed_with: str = ""  # the variable holding the secret that makes {{signature}}

    @property
    def where(self):
        return f"{self.file}:{self.line}: {self.method} {self.path}"


def _blocks(text, file):
    """(info, argument, first line number, lines, line number after the closing fence) of each fenced block."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match:
            # A block closes on a fence of as many backticks; a ````markdown block may show ``` blocks verbatim.
            fence, start, body = match.group(1), index, []
            index += 1
            while index < len(lines) and lines[index].rstrip() != fence:
                body.append(lines[index])
                index += 1
            if index == len(lines):
                raise DocsFormatError(f"{file}:{start + 1}: a {fence} block that never closes")
            yield match.group(2), match.group(3).strip(), start + 1, body, lines, index + 1
        index += 1


def parse(text, file="<text>"):
    """Every example of a Markdown text, in order; DocsFormatError naming file and line for one it cannot read."""
    examples = []
    pending = None
    for info, argument, line, body, lines, after in _blocks(text, file):
        where = f"{file}:{line}"
        if info == "http":
            if pending is not None:
                raise DocsFormatError(f"{file}:{pending.line}: an http block without its ```json <status> block")
            if argument:
                raise DocsFormatError(f"{where}: write ```http alone (the status goes on the json block)")
            pending = _request(body, file, line)
            pending.signed_with = _signed_with(lines, line - 1, file)
        elif info in ("json", "text") and argument:
            if pending is None:
                raise DocsFormatError(f"{where}: a ```{info} {argument} block with no http block before it")
            if not argument.isdigit() or not 100 <= int(argument) <= 599:
                raise DocsFormatError(f"{where}: ```{info} {argument}: the info string must be an HTTP status")
            pending.status = int(argument)
            source = "\n".join(body).strip()
            if info == "text":
                pending.kind = "text"
                pending.expected = [text_line for text_line in body if text_line.strip()] or None
                if _captures(lines, after, file):
                    raise DocsFormatError(f"{where}: captures read JSON; a ```text response has none")
            else:
                try:
                    pending.expected = json.loads(source) if source else None
                except ValueError as exc:
                    raise DocsFormatError(f"{where}: the expected response is not JSON ({exc})") from None
                pending.captures = _captures(lines, after, file)
            examples.append(pending)
            pending = None
        elif pending is not None:
            raise DocsFormatError(f"{file}:{pending.line}: an http block must be followed by a ```json <status> block")
    if pending is not None:
        raise DocsFormatError(f"{file}:{pending.line}: an http block without its ```json <status> block")
    return examples


def _request(body, file, line):
    if not body:
        raise DocsFormatError(f"{file}:{line}: an empty http block")
    match = REQUEST_LINE.match(body[0].strip())
    if not match:
        raise DocsFormatError(f"{file}:{line + 1}: the first line must be `METHOD /path`, got {body[0]!r}")
    headers = {}
    position = 1
    while position < len(body) and body[position].strip():
        header = HEADER_LINE.match(body[position].strip())
        if not header:
            raise DocsFormatError(f"{file}:{line + 1 + position}: not a `Name: value` header: {body[position]!r}")
        headers[header.group(1).lower()] = header.group(2)
        position += 1
    payload = "\n".join(body[position:]).strip()
    if payload:
        try:
            json.loads(PLACEHOLDER.sub("0", payload))
        except ValueError as exc:
            raise DocsFormatError(f"{file}:{line}: the request body is not JSON ({exc})") from None
    return Example(file=file, line=line, method=match.group(1), path=match.group(2), headers=headers, body=payload)


def _signed_with(lines, fence_index, file):
    """The variable named by a `<!-- sign: secret = name -->` comment among the blank lines before a fence."""
    index = fence_index - 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    match = SIGN.match(lines[index].strip()) if index >= 0 else None
    if not match:
        return ""
    name, sep, variable = (part.strip() for part in match.group(1).partition("="))
    if name != "secret" or not sep or not re.fullmatch(r"\w+", variable):
        raise DocsFormatError(f"{file}:{index + 1}: write `<!-- sign: secret = variableName -->`, "
                              f"got {match.group(1)!r}")
    return variable


def _captures(lines, after, file):
    """The `<!-- capture: a = x.y, b = z -->` comment among the blank lines right after a response block."""
    index = after
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines):
        return []
    match = CAPTURE.match(lines[index].strip())
    if not match:
        return []
    captures = []
    for item in match.group(1).split(","):
        name, sep, path = (part.strip() for part in item.partition("="))
        if not sep or not re.fullmatch(r"\w+", name) or not path:
            raise DocsFormatError(f"{file}:{index + 1}: write captures as `name = dotted.path`, got {item.strip()!r}")
        captures.append((name, path))
    return captures


def mismatch(expected, actual, where="body"):
    """None when `actual` contains `expected` (see the module docstring), else where and how they differ."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if key not in actual:
                return f"{where}.{key}: missing (keys: {sorted(actual)})"
            problem = mismatch(value, actual[key], f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected a list, got {actual!r}"
        if len(actual) < len(expected):
            return f"{where}: expected at least {len(expected)} items, got {len(actual)}"
        for position, value in enumerate(expected):
            problem = mismatch(value, actual[position], f"{where}.{position}")
            if problem:
                return problem
        return None
    if isinstance(expected, str) and expected.endswith("..."):
        if isinstance(actual, str) and actual.startswith(expected[:-3]):
            return None
        return f"{where}: expected a string starting with {expected[:-3]!r}, got {actual!r}"
    if expected != actual or type(expected) is not type(actual):
        return f"{where}: expected {expected!r}, got {actual!r}"
    return None


def text_mismatch(expected_lines, body):
    """None when every expected line is a line of `body` (a trailing `...`: a line starting so), else the first
    line that is not."""
    lines = body.splitlines()
    for expected in expected_lines:
        if expected.endswith("..."):
            if not any(line.startswith(expected[:-3]) for line in lines):
                return f"body: no line starts with {expected[:-3]!r}"
        elif expected not in lines:
            return f"body: no line {expected!r}"
    return None


def signature(example, variables, headers, body):
    """The Standard Webhooks signature of this request, with the secret its `<!-- sign -->` comment names."""
    if not example.signed_with:
        raise AssertionError(f"{example.where}: {{{{signature}}}} needs a `<!-- sign: secret = name -->` comment "
                             f"right before the http block")
    if example.signed_with not in variables:
        raise AssertionError(f"{example.where}: unknown placeholder {{{{{example.signed_with}}}}} (the signing "
                             f"secret; known: {', '.join(sorted(variables))})")
    try:
        message_id, stamp = headers["webhook-id"], int(headers["webhook-timestamp"])
    except (KeyError, ValueError):
        raise AssertionError(f"{example.where}: a signed request needs a webhook-id and a numeric "
                             f"webhook-timestamp header") from None
    return Webhook(variables[example.signed_with]).sign(message_id, datetime.fromtimestamp(stamp, tz=UTC), body)


def dig(value, path):
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return KeyError(path)
    return value


def fill(text, variables, example):
    def value(match):
        name = match.group(1)
        if name == "signature" and name not in variables:
            return match.group(0)  # computed once the rest of the request is filled (replay)
        if name not in variables:
            raise AssertionError(f"{example.where}: unknown placeholder {{{{{name}}}}} "
                                 f"(known: {', '.join(sorted(variables))})")
        return str(variables[name])
    return PLACEHOLDER.sub(value, text)


def fill_expected(expected, variables, example):
    if isinstance(expected, dict):
        return {key: fill_expected(value, variables, example) for key, value in expected.items()}
    if isinstance(expected, list):
        return [fill_expected(value, variables, example) for value in expected]
    if isinstance(expected, str):
        return fill(expected, variables, example)
    return expected


def replay(examples, client, variables):
    """Send each example in order; AssertionError naming file and line at the first that does not hold."""
    for example in examples:
        path = fill(example.path, variables, example)
        headers = {name: fill(value, variables, example) for name, value in example.headers.items()}
        body = fill(example.body, variables, example)
        if PLACEHOLDER.search(path + body):
            raise AssertionError(f"{example.where}: {{{{signature}}}} goes in a header (it signs the body)")
        if any(PLACEHOLDER.search(value) for value in headers.values()):
            signed = signature(example, variables, headers, body)
            headers = {name: PLACEHOLDER.sub(signed, value) for name, value in headers.items()}
        content_type = headers.pop("content-type", "application/json")
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
        send = getattr(client, example.method.lower())
        if example.method == "GET":
            response = send(path, **meta)
        else:
            response = send(path, data=body, content_type=content_type, **meta)
        try:
            actual = json.loads(response.content) if response.content else None
        except ValueError:
            actual = response.content[:200]
        if response.status_code != example.status:
            raise AssertionError(f"{example.where}: expected status {example.status}, got "
                                 f"{response.status_code}: {actual!r}")
        if example.kind == "text":
            if not response["Content-Type"].startswith("text/plain"):
                raise AssertionError(f"{example.where}: expected a text/plain body, got {response['Content-Type']}")
            expected_lines = [fill(line, variables, example) for line in example.expected or []]
            problem = text_mismatch(expected_lines, response.content.decode())
            if problem:
                raise AssertionError(f"{example.where}: {problem}")
        elif example.expected is not None:
            problem = mismatch(fill_expected(example.expected, variables, example), actual)
            if problem:
                raise AssertionError(f"{example.where}: {problem}")
        for name, dotted in example.captures:
            captured = dig(actual, dotted)
            if isinstance(captured, KeyError):
                raise AssertionError(f"{example.where}: cannot capture {name} = {dotted}: not in {actual!r}")
            variables[name] = captured


def docs_files():
    return sorted(DOCS.glob("*.md"))


@pytest.fixture
def world(db):
    """The demo world the docs talk about (tenant `demo`, one user per role, demo commerces and configs)."""
    from io import StringIO

    from tenants.models import Tenant

    call_command("seed_demo", stdout=StringIO())
    tenant = Tenant.objects.get(slug="demo")
    return {"tenantId": tenant.id, "password": "reten-demo-2026"}


def _initial_variables(world, client):
    """What a reader already has before the page starts: a logged-in ADMIN of `demo`, the tenant id, the time."""
    response = client.post("/api/auth/login", data={"identifier": "admin@reten.demo", "password": world["password"]},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    # Whole seconds, after everything seed_demo wrote (results order by occurred_at).
    moment = (timezone.now() + timedelta(seconds=1)).replace(microsecond=0)
    return {"tenantId": world["tenantId"], "accessToken": response.json()["accessToken"],
            "now": moment.isoformat().replace("+00:00", "Z"), "timestamp": int(moment.timestamp()),
            "metricsToken": METRICS_TOKEN}


METRICS_TOKEN = "docs-metrics-token"  # what an operator sets as METRICS_TOKEN; {{metricsToken}} in the docs


@pytest.mark.parametrize("path", docs_files(), ids=lambda path: path.name)
def test_every_example_of_the_page_holds(path, world, settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    examples = parse(path.read_text(), file=f"docs/{path.name}")
    client = Client()
    replay(examples, client, _initial_variables(world, client))


def test_every_docs_file_parses():
    problems = []
    for path in docs_files():
        try:
            parse(path.read_text(), file=f"docs/{path.name}")
        except DocsFormatError as exc:
            problems.append(str(exc))
    assert problems == []


def test_the_docs_have_examples_to_replay():
    counts = {path.name: len(parse(path.read_text(), file=path.name)) for path in docs_files()}
    assert sum(counts.values()) >= 30, counts
    assert counts["getting-started.md"] >= 5 and counts["activities.md"] >= 5, counts


def test_no_docs_page_shows_an_http_call_that_is_not_replayed():
    """A curl or an ```sh request would not be checked: API calls are written as ```http blocks."""
    offenders = [f"docs/{path.name}:{number}" for path in docs_files()
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"^\s*(\$\s*)?(curl|wget|http|https)\s", line)]
    assert offenders == []


# The harness itself fails when it should: a wrong status, a wrong field, a block it cannot read.

@pytest.fixture
def login_world(db):
    """Just enough for the login example below (seed_demo takes seconds)."""
    from tenants.models import User

    User.objects.create_user(email="admin@reten.demo", password="reten-demo-2026")
    return {"password": "reten-demo-2026"}

PAGE = """
```http
POST /api/auth/login
Content-Type: application/json

{"identifier": "admin@reten.demo", "password": "{{password}}"}
```

```json %s
%s
```
<!-- capture: token = accessToken, me = user.id -->
"""


def test_a_page_whose_example_holds_replays_and_captures(login_world):
    variables = {"password": login_world["password"]}
    replay(parse(PAGE % ("200", '{"accessToken": "...", "user": {"email": "admin@reten.demo"}}'), "page.md"),
           Client(), variables)
    assert variables["token"].count(".") == 2 and variables["me"]


@pytest.mark.parametrize(("status", "expected", "message"), [
    ("201", "{}", "page.md:2: POST /api/auth/login: expected status 201, got 200"),
    ("200", '{"user": {"email": "fde@reten.demo"}}',
     "page.md:2: POST /api/auth/login: body.user.email: expected 'fde@reten.demo', got 'admin@reten.demo'"),
    ("200", '{"refresh": "..."}', "page.md:2: POST /api/auth/login: body.refresh: missing"),
    ("200", '{"accessToken": "rtn_..."}', "body.accessToken: expected a string starting with 'rtn_'"),
])
def test_a_page_whose_example_no_longer_holds_fails_naming_file_and_line(login_world, status, expected, message):
    with pytest.raises(AssertionError) as failure:
        replay(parse(PAGE % (status, expected), "page.md"), Client(), {"password": login_world["password"]})
    assert message in str(failure.value)


def test_an_unknown_placeholder_fails(db):
    with pytest.raises(AssertionError, match=r"page.md:2: POST /api/auth/login: unknown placeholder \{\{password\}\}"):
        replay(parse(PAGE % ("200", "{}"), "page.md"), Client(), {})


@pytest.mark.parametrize(("text", "message"), [
    ("```http\nFETCH /api/x\n```\n```json 200\n{}\n```\n", "p.md:2: the first line must be `METHOD /path`"),
    ("```http\nGET /api/x\nnot a header\n```\n```json 200\n{}\n```\n", "p.md:3: not a `Name: value` header"),
    ("```http\nGET /api/x\n```\n", "p.md:1: an http block without its ```json <status> block"),
    ("```http\nGET /api/x\n```\n```sh\nls\n```\n", "p.md:1: an http block must be followed"),
    ("```http\nPOST /api/x\n\n{nope}\n```\n```json 200\n{}\n```\n", "p.md:1: the request body is not JSON"),
    ("```http\nGET /api/x\n```\n```json ok\n{}\n```\n", "p.md:4: ```json ok: the info string must be"),
    ("```http\nGET /api/x\n```\n```json 200\n{nope\n```\n", "p.md:4: the expected response is not JSON"),
    ("```json 200\n{}\n```\n", "p.md:1: a ```json 200 block with no http block"),
    ("````markdown\n```http\nGET /x\n```\n````\n```http\nGET /y\n```\n", "p.md:6: an http block without"),
    ("```http\nGET /api/x\n```\n```json 200\n{}\n```\n<!-- capture: id -->\n", "p.md:7: write captures as"),
    ("```http\nGET /api/x\n", "p.md:1: a ``` block that never closes"),
    ("<!-- sign: key = s -->\n```http\nGET /x\n```\n```json 200\n```\n", "p.md:1: write `<!-- sign: secret = "),
    ("```http\nGET /x\n```\n```text 200\nok\n```\n<!-- capture: a = b -->\n", "p.md:4: captures read JSON"),
    ("```text 200\nok\n```\n", "p.md:1: a ```text 200 block with no http block"),
])
def test_a_block_the_harness_cannot_read_fails_naming_file_and_line(text, message):
    with pytest.raises(DocsFormatError) as failure:
        parse(text, "p.md")
    assert message in str(failure.value)


def test_lists_match_their_first_items_in_order():
    assert mismatch([{"a": 1}], [{"a": 1, "b": 2}, {"a": 3}]) is None
    assert mismatch([{"a": 3}], [{"a": 1}, {"a": 3}]) == "body.0.a: expected 3, got 1"
    assert mismatch([1, 2], [1]) == "body: expected at least 2 items, got 1"
    assert mismatch({"n": 1}, {"n": True}) == "body.n: expected 1, got True"


# Non-JSON responses (```text <status>) and signed requests (<!-- sign: secret = name -->).

TEXT_PAGE = """
```http
GET /metrics
Authorization: Bearer {{metricsToken}}
```

```text 200
%s
```
"""


@pytest.mark.parametrize(("lines", "message"), [
    ("# TYPE reten_results_total counter\n# TYPE reten_receipts_total counter", None),
    ("# TYPE reten_results_total c...", None),
    ("# TYPE reten_results_total gauge", "page.md:2: GET /metrics: body: no line '# TYPE reten_results_total gauge'"),
    ("# TYPE reten_nothing_...", "page.md:2: GET /metrics: body: no line starts with '# TYPE reten_nothing_'"),
])
def test_a_text_block_needs_each_of_its_lines_in_the_body(db, settings, lines, message):
    settings.METRICS_TOKEN = METRICS_TOKEN
    examples = parse(TEXT_PAGE % lines, "page.md")
    assert examples[0].kind == "text"
    if message is None:
        replay(examples, Client(), {"metricsToken": METRICS_TOKEN})
        return
    with pytest.raises(AssertionError) as failure:
        replay(examples, Client(), {"metricsToken": METRICS_TOKEN})
    assert message in str(failure.value)


def test_a_text_block_refuses_a_json_response(db):
    with pytest.raises(AssertionError, match=r"page.md:1: GET /healthz: expected a text/plain body, got application/"):
        replay(parse("```http\nGET /healthz\n```\n\n```text 200\nok\n```\n", "page.md"), Client(), {})


SIGNED = """
<!-- sign: secret = hookSecret -->
```http
POST /api/dispatch-callbacks/{{configId}}
Content-Type: application/json
webhook-id: msg_1
webhook-timestamp: {{timestamp}}
webhook-signature: {{signature}}

{"status": "SENT", "occurred_at": "{{now}}"}
```

```json 401
```
"""


def test_the_sign_comment_names_the_secret_of_the_request_after_it():
    examples = parse(SIGNED + SIGNED.replace("<!-- sign: secret = hookSecret -->", ""), "page.md")
    assert [example.signed_with for example in examples] == ["hookSecret", ""]


def test_the_signature_is_what_standard_webhooks_verifies():
    from standardwebhooks.webhooks import WebhookVerificationError

    secret, other = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    example = parse(SIGNED, "page.md")[0]
    stamp = str(int(timezone.now().timestamp()))
    headers, body = {"webhook-id": "msg_1", "webhook-timestamp": stamp}, '{"status": "SENT"}'
    signed = signature(example, {"hookSecret": secret}, headers, body)
    assert signed.startswith("v1,")
    Webhook(secret).verify(body, {**headers, "webhook-signature": signed})
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, {**headers, "webhook-signature": signed})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + " ", {**headers, "webhook-signature": signed})


@pytest.mark.parametrize(("text", "variables", "message"), [
    (SIGNED.replace("<!-- sign: secret = hookSecret -->", ""), {"hookSecret": "whsec_MfKQ"},
     r"page.md:3: POST /api/dispatch-callbacks/\{\{configId\}\}: \{\{signature\}\} needs a `<!-- sign"),
    (SIGNED, {}, r"unknown placeholder \{\{hookSecret\}\} \(the signing secret"),
    (SIGNED.replace("webhook-timestamp: {{timestamp}}", "webhook-timestamp: soon"), {"hookSecret": "whsec_MfKQ"},
     r"a signed request needs a webhook-id and a numeric webhook-timestamp header"),
])
def test_a_signature_that_cannot_be_computed_fails_naming_file_and_line(db, text, variables, message):
    variables = {"configId": "00000000-0000-0000-0000-000000000000", "timestamp": 1, "now": "x", **variables}
    with pytest.raises(AssertionError, match=message):
        replay(parse(text, "page.md"), Client(), variables)

