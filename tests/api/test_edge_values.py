"""Every argument and input field of the schema, found by introspection, gets edge values.

For each field that takes arguments — the roots', and those below them reached by the shortest
query route — one edge value at a time replaces one argument (or one field of an input object,
at any depth, or one item of a list) while every other required value is valid: real ids of one
signed-up user where an id names something. Each answer must be typed: data with a typed
result, or errors whose ``extensions.code`` a client can act on; never INTERNAL_SERVER_ERROR,
never 5xx. Text no column can hold and dates outside 1900-2199 must be refused. A new argument
is covered without touching this file.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.api.graphql import Account, create_contact, data, log_interaction, sign_up
from tests.api.test_sync_api import PUSH, now_clock, unique

TYPED_CODES = {
    "BAD_USER_INPUT",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "UNAUTHENTICATED",
    "VERSION_NOT_SUPPORTED",
    "RATE_LIMITED",
}

INTROSPECT = """
query {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types {
      name kind
      fields { name args { ...Input } type { ...Ref } }
      inputFields { ...Input }
      enumValues { name }
      possibleTypes { name }
    }
  }
}
fragment Input on __InputValue { name defaultValue type { ...Ref } }
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
"""

LONG = "x" * 100_000
EDGE_TEXT = ["a\x00b", LONG, "", "\ud800"]
EDGE_INT = [2**31, 2**63, -(2**31) - 1, 2**31 - 1, -(2**31), 0]
EDGE_DATE = ["0001-01-01", "9999-12-31"]
EDGE_DATETIME = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59-14:00",
]
EDGE_SCALARS: dict[str, list[Any]] = {
    "String": EDGE_TEXT,
    "ID": EDGE_TEXT,
    "Int": EDGE_INT,
    "Date": EDGE_DATE,
    # The four corners, and a time without an offset (whose instant depends on a zone).
    "DateTime": [*EDGE_DATETIME, "2026-12-01T10:00:00"],
    # A time of day with an offset, and one past the last second.
    "Time": ["23:59:59+14:00", "24:00:00"],
    "Float": [1e308, -1e308, 0.0],
}
# Values outside GraphQL's 32-bit Int fail variable coercion, which refuses the whole document:
# each goes alone so it cannot hide the other cases of its batch.
ALONE = {2**31, 2**63, -(2**31) - 1}
# Inputs the write path judges item by item (a push's mutation is applied or REJECTED alone):
# their values need a typed answer, not a refusal of the whole operation.
JUDGED_PER_ITEM = {"SyncMutationInput"}
MAX_LIST = 10_000
BATCH = 12
# Bodies stay far below the HTTP body limit, so every case reaches GraphQL.
BATCH_BYTES = 400_000


@dataclass
class Schema:
    types: dict[str, dict[str, Any]]
    roots: dict[str, str]


def named(ref: dict[str, Any]) -> dict[str, Any]:
    while ref["kind"] in ("NON_NULL", "LIST"):
        ref = ref["ofType"]
    return ref


def type_text(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return type_text(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + type_text(ref["ofType"]) + "]"
    return str(ref["name"])


class Values:
    """Valid values per type and name, using the shared user's real rows for ids."""

    def __init__(self, schema: Schema, ids: dict[str, str]) -> None:
        self.schema = schema
        self.ids = ids

    def valid(self, ref: dict[str, Any], name: str, field: str) -> Any:
        if ref["kind"] == "NON_NULL":
            return self.valid(ref["ofType"], name, field)
        if ref["kind"] == "LIST":
            return [self.valid(ref["ofType"], name, field)]
        kind, type_name = ref["kind"], ref["name"]
        if kind == "ENUM":
            return self.schema.types[type_name]["enumValues"][0]["name"]
        if kind == "INPUT_OBJECT":
            return {
                f["name"]: self.valid(f["type"], f["name"], field)
                for f in self.schema.types[type_name]["inputFields"]
                if f["type"]["kind"] == "NON_NULL" and f["defaultValue"] is None
            }
        return self.scalar(type_name, name, field)

    def scalar(self, type_name: str, name: str, field: str) -> Any:
        if type_name == "ID":
            return self.id_for(name, field)
        if type_name == "Int":
            known = {"schemaVersion": 1, "year": 1990, "month": 5, "day": 5, "target": 3, "id": 1}
            return known.get(name, 7)
        if type_name == "Boolean":
            return False
        if type_name == "Float":
            return 1.0
        if type_name == "Date":
            return "2026-11-01" if name == "from" else "2026-12-01"
        if type_name == "DateTime":
            return "2026-12-01T10:00:00+00:00"
        if type_name == "Time":
            return "22:00:00"
        if type_name == "JSON":
            return {}
        strings = {
            "email": f"edge-{uuid.uuid4().hex[:12]}@example.com",
            "password": "correct horse battery staple",
            "timeZone": "UTC",
            "color": "#336699",
            "url": "https://example.com",
            "token": f"fcm-{uuid.uuid4().hex}",
        }
        return strings.get(name, "Ada")

    def id_for(self, name: str, field: str) -> str:
        """Return a real id of the entity the argument names (by its name, or its field's)."""
        if name == "clientId":
            # A fresh device each time, so mutation 1 is next and each push is applied.
            return f"edge-{uuid.uuid4().hex[:12]}"
        if name in ("contactA", "contactB"):
            return self.ids[name]
        subject = name.removesuffix("Ids").removesuffix("Id").lower()
        if subject == "id":
            subject = field.lower()
        for entity, value in self.ids.items():
            if entity in subject:
                return value
        return str(uuid.uuid4())


@dataclass
class Route:
    """A query path to an object type: a root field with valid arguments, then fields."""

    root: str
    args: dict[str, Any]
    arg_types: dict[str, str]
    hops: list[tuple[str, str]]  # (type declaring the field, field), after the root field


@dataclass
class Case:
    field: str
    operation: str  # "query" or "mutation"
    args: dict[str, Any]  # GraphQL argument name -> variable value
    arg_types: dict[str, str]
    where: str  # the argument path the edge value sits at
    edge: Any
    refuse: bool = False  # the text or date rule must refuse it
    owner: str = ""  # the object type declaring the field, when not a root
    route: Route | None = None  # how a query reaches ``owner``

    def describe(self) -> str:
        shown = repr(self.edge)
        if len(shown) > 40:
            shown = f"{shown[:20]}…({len(shown)} chars)"
        name = f"{self.owner}.{self.field}" if self.owner else self.field
        return f"{name}({self.where} = {shown})"


def edges(ref: dict[str, Any], values: Values, name: str, field: str) -> Iterator[Any]:
    """Yield the edge values for a value of type ``ref`` (lists: empty and huge)."""
    inner = ref["ofType"] if ref["kind"] == "NON_NULL" else ref
    if inner["kind"] == "LIST":
        yield []
        item = values.valid(inner["ofType"], name, field)
        yield [item] * MAX_LIST
        return
    if inner["kind"] == "SCALAR":
        yield from EDGE_SCALARS.get(inner["name"], [])


def paths(
    ref: dict[str, Any], values: Values, name: str, field: str, schema: Schema, depth: int = 0
) -> Iterator[tuple[list[str | int], Any, bool]]:
    """Yield (path inside the value, edge value, whether the rules must refuse it)."""
    for edge in edges(ref, values, name, field):
        yield [], edge, must_refuse(edge)
    inner = named(ref)
    if inner["kind"] == "INPUT_OBJECT" and depth < 4:
        # Inside a list of input objects, the edge goes into its first item.
        prefix: list[str | int] = [0] if _is_list(ref) else []
        judged = inner["name"] not in JUDGED_PER_ITEM
        for sub in schema.types[inner["name"]]["inputFields"]:
            found = paths(sub["type"], values, sub["name"], field, schema, depth + 1)
            for path, edge, refuse in found:
                yield [*prefix, sub["name"], *path], edge, refuse and judged
    elif inner["kind"] != "INPUT_OBJECT" and _is_list(ref):
        # One edge item inside an otherwise valid list.
        for edge in edges(_item(ref), values, name, field):
            yield [0], edge, must_refuse(edge)


def must_refuse(edge: Any) -> bool:
    """Whether the text or the date rule refuses ``edge`` wherever it is sent."""
    return edge in ("a\x00b", "\ud800", *EDGE_DATE, *EDGE_DATETIME)


def _is_list(ref: dict[str, Any]) -> bool:
    inner = ref["ofType"] if ref["kind"] == "NON_NULL" else ref
    return bool(inner["kind"] == "LIST")


def _item(ref: dict[str, Any]) -> dict[str, Any]:
    inner = ref["ofType"] if ref["kind"] == "NON_NULL" else ref
    item: dict[str, Any] = inner["ofType"]
    return item


def put(value: Any, path: list[str | int], edge: Any) -> Any:
    """Return ``value`` with ``edge`` at ``path`` (input objects and lists)."""
    if not path:
        return edge
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(value) if isinstance(value, list) and value else [None]
        items[0] = put(items[0], rest, edge)
        return items
    inner = dict(value or {})
    inner[head] = put(inner.get(head), rest, edge)
    return inner


def build_cases(schema: Schema, values: Values) -> list[Case]:
    cases: list[Case] = []
    for operation in ("query", "mutation"):
        root = schema.types[schema.roots[operation]]
        for field in root["fields"]:
            cases.extend(field_cases(schema, values, operation, field))
    # Arguments of fields below the roots (Contact.healthHistory(weeks), …), reached by query.
    routes = find_routes(schema, values)
    for type_name, route in routes.items():
        for field in schema.types[type_name]["fields"]:
            for case in field_cases(schema, values, "query", field):
                case.owner, case.route = type_name, route
                cases.append(case)
    return cases


def field_cases(
    schema: Schema, values: Values, operation: str, field: dict[str, Any]
) -> Iterator[Case]:
    """Yield one case per edge value at each place of each argument of ``field``."""
    args = field["args"]
    base = required_values(values, field)
    arg_types = {a["name"]: type_text(a["type"]) for a in args}
    for arg in args:
        start = base.get(arg["name"])
        if start is None and named(arg["type"])["kind"] == "INPUT_OBJECT":
            start = values.valid(named(arg["type"]), arg["name"], field["name"])
        found = paths(arg["type"], values, arg["name"], field["name"], schema)
        for path, edge, refuse in found:
            variables = {**base, arg["name"]: put(start, path, edge)}
            where = ".".join(str(p) for p in [arg["name"], *path])
            yield Case(field["name"], operation, variables, arg_types, where, edge, refuse)


def required_values(values: Values, field: dict[str, Any]) -> dict[str, Any]:
    return {
        a["name"]: values.valid(a["type"], a["name"], field["name"])
        for a in field["args"]
        if a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None
    }


def find_routes(schema: Schema, values: Values) -> dict[str, Route]:
    """Return the shortest query route to each object type that has fields with arguments."""
    query = schema.types[schema.roots["query"]]
    routes: dict[str, Route] = {}
    frontier: list[tuple[str, Route]] = []
    for field in query["fields"]:
        route = Route(
            field["name"],
            required_values(values, field),
            {a["name"]: type_text(a["type"]) for a in field["args"]},
            [],
        )
        frontier.extend((name, route) for name in object_types(schema, field["type"]))
    while frontier:
        following: list[tuple[str, Route]] = []
        for type_name, route in frontier:
            if type_name in routes:
                continue
            routes[type_name] = route
            for field in schema.types[type_name]["fields"] or []:
                if required_values(values, field):
                    continue  # only the target field gets arguments below the root
                longer = Route(
                    route.root,
                    route.args,
                    route.arg_types,
                    [*route.hops, (type_name, field["name"])],
                )
                following.extend((name, longer) for name in object_types(schema, field["type"]))
        frontier = following
    return {
        name: route
        for name, route in routes.items()
        if any(f["args"] for f in schema.types[name]["fields"] or [])
    }


def object_types(schema: Schema, ref: dict[str, Any]) -> list[str]:
    inner = named(ref)
    if inner["kind"] == "OBJECT":
        return [inner["name"]]
    if inner["kind"] in ("UNION", "INTERFACE"):
        return [m["name"] for m in schema.types[inner["name"]]["possibleTypes"]]
    return []


def selection(schema: Schema, ref: dict[str, Any]) -> str:
    """Select __typename and the leaf fields of the result (of each member of a union)."""
    inner = named(ref)
    kind = inner["kind"]
    if kind in ("SCALAR", "ENUM"):
        return ""

    def leaves(type_name: str) -> str:
        fields = schema.types[type_name]["fields"] or []
        return " ".join(
            f["name"]
            for f in fields
            if named(f["type"])["kind"] in ("SCALAR", "ENUM")
            and not any(a["type"]["kind"] == "NON_NULL" for a in f["args"])
        )

    if kind == "UNION":
        members = " ".join(
            f"... on {m['name']} {{ {leaves(m['name'])} }}" if leaves(m["name"]) else ""
            for m in schema.types[inner["name"]]["possibleTypes"]
        )
        return f"{{ __typename {members} }}"
    return f"{{ __typename {leaves(inner['name'])} }}"


def document(schema: Schema, cases: list[Case]) -> tuple[str, dict[str, Any]]:
    """One document for cases of one operation type: an alias and variables per case."""
    definitions: list[str] = []
    fields: list[str] = []
    variables: dict[str, Any] = {}

    def call(prefix: str, args: dict[str, Any], arg_types: dict[str, str]) -> str:
        arguments = []
        for name, value in args.items():
            variable = f"{prefix}_{name}"
            definitions.append(f"${variable}: {arg_types[name]}")
            variables[variable] = value
            arguments.append(f"{name}: ${variable}")
        return f"({', '.join(arguments)})" if arguments else ""

    for index, case in enumerate(cases):
        owner = case.owner or schema.roots[case.operation]
        declared = {f["name"]: f for f in schema.types[owner]["fields"]}
        text = (
            f"{case.field}{call(f'v{index}', case.args, case.arg_types)} "
            f"{selection(schema, declared[case.field]['type'])}"
        )
        if case.route is not None:
            # Wrap the field in the route, innermost first: ... on Owner { field … }.
            text = f"... on {owner} {{ {text} }}"
            for hop_owner, hop in reversed(case.route.hops):
                text = f"... on {hop_owner} {{ {hop} {{ {text} }} }}"
            route_call = call(f"r{index}", case.route.args, case.route.arg_types)
            text = f"{case.route.root}{route_call} {{ __typename {text} }}"
        fields.append(f"c{index}: {text}")
    header = f"{cases[0].operation} ({', '.join(definitions)})" if definitions else "query"
    return f"{header} {{ {' '.join(fields)} }}", variables


def batches(cases: list[Case]) -> Iterator[list[Case]]:
    """Group cases by operation type, within the alias and body budgets."""
    rest: list[Case] = []
    for case in cases:
        if isinstance(case.edge, int) and case.edge in ALONE:
            yield [case]
        else:
            rest.append(case)
    for _, group in itertools.groupby(
        sorted(rest, key=lambda c: c.operation), key=lambda c: c.operation
    ):
        batch: list[Case] = []
        size = 0
        for case in group:
            weight = len(json.dumps(case.args))
            if batch and (len(batch) >= BATCH or size + weight > BATCH_BYTES):
                yield batch
                batch, size = [], 0
            batch.append(case)
            size += weight
        if batch:
            yield batch


def answered_partly(response: httpx.Response) -> bool:
    """Whether some cases of a batch may have gone unseen: data is null, or never was."""
    if response.status_code >= 500:
        return True
    try:
        return response.json().get("data") is None
    except ValueError:
        return True


def judge(cases: list[Case], response: httpx.Response) -> list[str]:
    """Return what was not a typed answer, naming each case."""
    names = ", ".join(c.describe() for c in cases[:3]) + (", …" if len(cases) > 3 else "")
    if response.status_code >= 500:
        return [f"HTTP {response.status_code} for {names}: {response.text[:300]}"]
    try:
        body = response.json()
    except ValueError:
        return [f"HTTP {response.status_code}, not JSON, for {names}: {response.text[:300]}"]
    problems: list[str] = []
    errors = body.get("errors") or []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        # Values reach the server as variables, so the document itself is always valid: a
        # validation failure would mean this test built it wrong and tried nothing.
        if code not in TYPED_CODES or code == "GRAPHQL_VALIDATION_FAILED":
            path = error.get("path") or []
            culprit = (
                cases[int(str(path[0])[1:])].describe()
                if path and str(path[0]).startswith("c")
                else names
            )
            problems.append(f"{code} for {culprit}: {error['message']}")
    if not errors and response.status_code >= 400:
        problems.append(f"HTTP {response.status_code} without errors for {names}")
    answers = body.get("data") or {}
    for index, case in enumerate(cases):
        alias = f"c{index}"
        own = [e for e in errors if (e.get("path") or [alias])[0] == alias]
        if not own and alias not in answers:
            problems.append(f"no answer for {case.describe()}")
        if case.refuse and not refused(answers.get(alias), own):
            problems.append(f"accepted {case.describe()}: {answers.get(alias)}")
    return problems


def refused(answer: Any, errors: list[dict[str, Any]]) -> bool:
    """Whether an answer is a refusal: a ValidationError, or a BAD_USER_INPUT error."""
    if isinstance(answer, dict) and answer.get("__typename") == "ValidationError":
        return True
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    return bool(codes & {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"})


async def send(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    # ASCII JSON: an unpaired surrogate travels as its \\uD800 escape, as a client's would.
    body = json.dumps({"query": query, "variables": variables})
    return await http.post(
        "/graphql", content=body, headers={**headers, "Content-Type": "application/json"}
    )


async def shared_user(http: httpx.AsyncClient) -> tuple[Account, dict[str, str]]:
    """Sign up one user with one row of each kind; return it and the ids by entity name."""
    account = await sign_up(http)
    ada = await create_contact(http, account.token)
    grace = await create_contact(http, account.token, firstName="Grace")
    met = await log_interaction(http, account.token, [ada["id"]])
    rows = await data(
        http,
        """mutation($token: String!) {
          tag: createTag(input: {name: "Edge"}) { ... on Tag { id } }
          goal: createGoal(input: {title: "Meet", metric: MEET_NEW_PEOPLE, target: 3,
            period: MONTH, startsOn: "2026-11-01"}) { ... on Goal { id } }
          event: createEvent(input: {name: "Meetup", startsAt: "2026-11-20T18:00:00Z"}) {
            ... on Event { id } }
          reminder: createReminder(input: {title: "Call", dueOn: "2026-12-10"}) {
            ... on Reminder { id } }
          device: registerDevice(input: {token: $token, platform: ANDROID}) {
            ... on Device { id } }
        }""",
        {"token": f"fcm-{uuid.uuid4().hex}"},
        account.token,
    )
    ids = {
        # Longest names first: "interaction" must not match "contact" inside a field name.
        "interaction": met["id"],
        "reminder": rows["reminder"]["id"],
        "device": rows["device"]["id"],
        "contact": ada["id"],
        "contactA": ada["id"],
        "contactB": grace["id"],
        "event": rows["event"]["id"],
        "goal": rows["goal"]["id"],
        "tag": rows["tag"]["id"],
    }
    return account, ids


async def introspect(http: httpx.AsyncClient, token: str) -> Schema:
    result = (await data(http, INTROSPECT, token=token))["__schema"]
    types = {t["name"]: t for t in result["types"]}
    roots = {"query": result["queryType"]["name"], "mutation": result["mutationType"]["name"]}
    if result.get("subscriptionType"):
        roots["subscription"] = result["subscriptionType"]["name"]
    return Schema(types, roots)


async def test_every_argument_gets_a_typed_answer_for_edge_values(
    http: httpx.AsyncClient,
) -> None:
    account, ids = await shared_user(http)
    schema = await introspect(http, account.token)
    cases = build_cases(schema, Values(schema, ids))
    assert len(cases) > 500, "introspection found too few arguments"
    problems: list[str] = []
    headers = {"Authorization": f"Bearer {account.token}"}
    pending = list(batches(cases))
    while pending:
        batch = pending.pop()
        text, variables = document(schema, batch)
        response = await send(http, text, variables, headers)
        if len(batch) > 1 and answered_partly(response):
            # An error on a non-null root field nulls the whole answer and hides its siblings'
            # (and a value failing coercion stops the whole document): try each on its own.
            pending.extend([case] for case in batch)
            continue
        problems.extend(judge(batch, response))
    # What was stored along the way must not break any reader of the user's data.
    problems.extend(await read_everything(http, schema, Values(schema, ids), account.token))
    assert not problems, f"{len(problems)} untyped answers:\n" + "\n".join(problems[:40])


async def read_everything(
    http: httpx.AsyncClient, schema: Schema, values: Values, token: str
) -> list[str]:
    """Run every query field with valid arguments, two levels deep, and judge the answers."""
    root = schema.types[schema.roots["query"]]
    problems: list[str] = []
    for field in root["fields"]:
        case = Case(
            field["name"],
            "query",
            {
                a["name"]: values.valid(a["type"], a["name"], field["name"])
                for a in field["args"]
                if a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None
            },
            {a["name"]: type_text(a["type"]) for a in field["args"]},
            "-",
            None,
        )
        variables = {f"v0_{name}": value for name, value in case.args.items()}
        response = await send(
            http,
            deep_document(schema, case, field),
            variables,
            {"Authorization": f"Bearer {token}"},
        )
        problems.extend(judge([case], response))
    return problems


def deep(schema: Schema, ref: dict[str, Any], depth: int = 0) -> str:
    """Select every field without required arguments, ``depth`` levels down."""
    inner = named(ref)
    if inner["kind"] in ("SCALAR", "ENUM"):
        return ""
    if depth >= 3:
        return "{ __typename }"
    if inner["kind"] == "UNION":
        members = " ".join(
            f"... on {m['name']} {deep(schema, {'kind': 'OBJECT', 'name': m['name']}, depth)}"
            for m in schema.types[inner["name"]]["possibleTypes"]
        )
        return f"{{ __typename {members} }}"
    parts = ["__typename"]
    for f in schema.types[inner["name"]]["fields"] or []:
        if any(a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None for a in f["args"]):
            continue
        parts.append(f"{f['name']} {deep(schema, f['type'], depth + 1)}".strip())
    return "{ " + " ".join(parts) + " }"


def deep_document(schema: Schema, case: Case, field: dict[str, Any]) -> str:
    definitions = ", ".join(f"$v0_{n}: {case.arg_types[n]}" for n in case.args)
    arguments = ", ".join(f"{n}: $v0_{n}" for n in case.args)
    call = f"({arguments})" if arguments else ""
    header = f"query ({definitions})" if definitions else "query"
    return f"{header} {{ c0: {case.field}{call} {deep(schema, field['type'])} }}"


@pytest.mark.parametrize("edge", ["a\x00b", "\ud800"])
async def test_text_no_column_can_hold_is_refused_naming_the_argument(
    http: httpx.AsyncClient, edge: str
) -> None:
    account = await sign_up(http)
    headers = {"Authorization": f"Bearer {account.token}"}
    search = "query($s: String) { contacts(filter: {search: $s}) { totalCount } }"
    body = (await send(http, search, {"s": edge}, headers)).json()
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.search"}
    sign_up_named = """mutation($name: String!) { signUp(input: {email: "n@example.com",
        password: "correct horse battery staple", displayName: $name}) {
        __typename ... on ValidationError { fields { field message } } } }"""
    result = (await send(http, sign_up_named, {"name": edge}, {})).json()["data"]["signUp"]
    assert result["__typename"] == "ValidationError"
    assert [f["field"] for f in result["fields"]] == ["displayName"]
    assert "remove the" in result["fields"][0]["message"]


async def test_subscription_arguments_get_a_typed_answer_for_edge_values(
    http: httpx.AsyncClient, api_url: str
) -> None:
    # Subscriptions run over WebSocket (graphql-transport-ws), one operation per edge value.
    account, ids = await shared_user(http)
    schema = await introspect(http, account.token)
    assert "subscription" in schema.roots
    values = Values(schema, ids)
    root = schema.types[schema.roots["subscription"]]
    cases = [
        Case(field["name"], "subscription", args, arg_types, where, edge, refuse)
        for field in root["fields"]
        for args, arg_types, where, edge, refuse in _subscription_cases(schema, values, field)
    ]
    assert cases
    problems: list[str] = []
    ws_url = api_url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {account.token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for index, case in enumerate(cases):
            text, variables = document(schema, [case])
            payload = {"query": text, "variables": variables}
            await ws.send(json.dumps({"id": str(index), "type": "subscribe", "payload": payload}))
            message = json.loads(await ws.recv())
            if message["type"] == "next" and message["payload"].get("data"):
                await ws.send(json.dumps({"id": str(index), "type": "complete"}))
                if case.refuse:
                    problems.append(f"accepted {case.describe()}")
                continue  # a valid value: the first poke came
            errors = message["payload"]
            errors = errors.get("errors", []) if isinstance(errors, dict) else errors
            if message["type"] == "next":
                # A refusal raised as the stream starts is a result, then the operation ends.
                assert json.loads(await ws.recv()) == {"id": str(index), "type": "complete"}
            codes = {(e.get("extensions") or {}).get("code") for e in errors}
            if not errors or not codes <= TYPED_CODES:
                problems.append(f"{case.describe()}: {message}")
    assert not problems, problems


def _subscription_cases(
    schema: Schema, values: Values, field: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], dict[str, str], str, Any, bool]]:
    arg_types = {a["name"]: type_text(a["type"]) for a in field["args"]}
    base = {a["name"]: values.valid(a["type"], a["name"], field["name"]) for a in field["args"]}
    for arg in field["args"]:
        for path, edge, refuse in paths(arg["type"], values, arg["name"], field["name"], schema):
            where = ".".join(str(p) for p in [arg["name"], *path])
            variables = {**base, arg["name"]: put(base[arg["name"]], path, edge)}
            yield variables, arg_types, where, edge, refuse


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("interaction.put", {"occurredAt": "9999-12-31T23:59:59-12:00", "summary": "Late"}),
        ("event.put", {"name": "Early", "startsAt": "0001-01-01T00:00:00+14:00"}),
        ("event.put", {"name": "Crosses", "startsAt": "2199-12-31T23:00:00-12:00"}),
        (
            "goal.put",
            {
                "title": "Far",
                "metric": "LOG_INTERACTIONS",
                "target": 3,
                "period": "MONTH",
                "startsOn": "9999-12-31",
            },
        ),
        ("contact.put", {"firstName": "Ada", "notes": "a\ud800b"}),
    ],
)
async def test_sync_values_outside_the_rules_are_rejected_with_the_reason(
    http: httpx.AsyncClient, name: str, fields: dict[str, Any]
) -> None:
    account = await sign_up(http)
    contact = await create_contact(http, account.token)
    if name == "interaction.put":
        fields = {**fields, "contactIds": [contact["id"]]}
    mutation = {
        "id": 1,
        "name": name,
        "args": {"id": str(uuid.uuid4()), "hlc": now_clock("edge"), "fields": fields},
    }
    push = {"clientId": unique("edge"), "schemaVersion": 1, "mutations": [mutation]}
    headers = {"Authorization": f"Bearer {account.token}"}
    body = (await send(http, PUSH, {"input": push}, headers)).json()
    assert "errors" not in body, body
    result = body["data"]["syncPush"]["results"][0]
    assert result["status"] == "REJECTED"
    assert "1900-01-01" in result["reason"] or "unpaired surrogate" in result["reason"]


async def test_a_huge_time_zone_is_refused_before_any_lookup_and_never_logged_whole(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    account = await sign_up(http)
    update = """mutation($zone: String!) { updateMe(input: {timeZone: $zone}) {
        __typename ... on ValidationError { fields { field message } } } }"""
    headers = {"Authorization": f"Bearer {account.token}"}
    with caplog.at_level("DEBUG"):
        for zone in ("é" * 100_000, "Europe/" + "x" * 60):
            body = (await send(http, update, {"zone": zone}, headers)).json()
            answer = body["data"]["updateMe"]
            assert answer["__typename"] == "ValidationError", body
            assert answer["fields"][0]["field"] == "timeZone"
            assert "at most 64 characters" in answer["fields"][0]["message"]
    assert all(len(r.getMessage()) < 10_000 for r in caplog.records)


async def test_a_list_of_bad_items_is_answered_with_a_few_of_them(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    create = """mutation($input: CreateContactInput!) { createContact(input: $input) {
        __typename ... on ValidationError { fields { field message } } } }"""
    headers = {"Authorization": f"Bearer {account.token}"}
    interests = ["a\x00b"] * MAX_LIST
    body = (
        await send(http, create, {"input": {"firstName": "Ada", "interests": interests}}, headers)
    ).json()
    answer = body["data"]["createContact"]
    assert answer["__typename"] == "ValidationError"
    assert [f["field"] for f in answer["fields"]] == [f"interests.{i}" for i in range(10)]
