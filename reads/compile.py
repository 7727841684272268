"""Compile a query operation into one SQL statement that renders its ``data`` as JSON text.

What compiles (anything else raises NotCompilable and the resolvers answer):

- ``me`` (every field), ``tags`` (every field);
- ``contacts(first, after, last, before, orderBy, filter)`` (both directions, both bounds) and
  ``interactions(contactId, first, after)``: ``edges { cursor node }``, ``nodes``,
  ``pageInfo { hasNextPage hasPreviousPage startCursor endCursor }``, ``totalCount``;
- ``contact(id)`` and ``interaction(id)``: the object, or ``NotFound``;
- on ``Contact``: every stored field, ``displayName``, ``emails``/``phones``/``urls``,
  ``birthday``, ``interests``, ``leadDays``, ``tags``, ``introducedBy``, and
  ``interactions(first, after)`` with the same connection fields (``after`` under
  ``contact(id)`` only: under a list, each contact's cursor names that one contact);
- on ``Interaction``: every stored field, ``contacts``, and ``sentiment`` (its ``compound``
  printed as orjson prints a float: ``render.float_number``);
- ``__typename`` anywhere, aliases, fragments, ``@skip`` and ``@include``.

Every value an argument holds is a bound parameter. The SQL's shape depends on a few values
(an order, which filters are present, a directive's condition); each is recorded as a guard,
and a cached plan is reused only by a request whose guards give the same values. Every rule
the resolvers apply to arguments (the page size, a cursor, a filter's ranges, and
``schema.arguments``' text and date rules) is a check: a request that breaks one falls back, so
the resolvers answer it with their own errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
)

from insights import sentiment
from model.errors import ValidationFailed
from model.ids import parse_uuid
from reads import render
from reads.arguments import (
    breaks_rules,
    check_first,
    check_page,
    compute_birthday_keys,
    escape_like,
    parse_tag_ids,
    read_enum,
    read_nth,
)
from reads.columns import (
    CONTACT_COLUMNS,
    INTERACTION_COLUMNS,
    LEAD_DAYS,
    TAG_COLUMNS,
    USER_COLUMNS,
    Render,
    Row,
)
from reads.ordering import CAST, render_after_branches, render_cursor_value, render_order
from reads.plan import Fallback, Getter, Guard, Inputs, NotCompilable, Plan
from reads.render import Expr, concat, or_null
from reads.selection import Fields, collect_fields, find_fragments
from store import contacts as contact_store
from store import interactions as interaction_store
from store import keyset

OWNER = "$1::uuid"
# Bounds of one plan. Past them the operation falls back: a document of a few kilobytes can
# spread fragments and aliases into far more work than any screen asks for, and a plan (its
# guards and text) lives in the cache.
MAX_GUARDS = 256
MAX_PLAN_SQL = 256 * 1024
PLACEHOLDER = re.compile(r"\$(\d+)::")


def compile_plan(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    inputs: Inputs,
) -> Plan:
    """Compile ``operation`` for requests shaped like ``inputs``; ``sql`` None if it can't."""
    compiler = Compiler(schema, document, inputs)
    try:
        sql = compiler.render_operation(operation)
    except NotCompilable:
        return Plan(guards=tuple(compiler.guards), sql=None)
    if len(sql) > MAX_PLAN_SQL:
        return Plan(guards=tuple(compiler.guards), sql=None)
    sql, params, unused = _number_parameters(sql, compiler.params)
    return Plan(
        guards=tuple(compiler.guards),
        sql=sql,
        # A parameter the SQL ended up not needing is still read: reading it checks it.
        checks=(*compiler.checks, *unused),
        params=params,
        needs_time_zone=compiler.needs_time_zone,
    )


def _number_parameters(
    sql: str, params: Sequence[Getter]
) -> tuple[str, tuple[Getter, ...], tuple[Getter, ...]]:
    """Drop the parameters ``sql`` never mentions and number the rest from $1.

    PostgreSQL refuses a parameter it cannot type, and one a query does not mention has none
    (a page size, when only totalCount is selected).
    """
    used = sorted({int(n) for n in PLACEHOLDER.findall(sql)})
    numbers = {old: new for new, old in enumerate(used, start=1)}
    renumbered = PLACEHOLDER.sub(lambda m: f"${numbers[int(m.group(1))]}::", sql)
    kept = tuple(params[n - 1] for n in used)
    unused = tuple(read for n, read in enumerate(params, start=1) if n not in numbers)
    return renumbered, kept, unused


class Compiler:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, inputs: Inputs) -> None:
        self.schema = schema
        self.fragments = find_fragments(document)
        self.inputs = inputs
        self.guards: list[Guard] = []
        self._decided: dict[Hashable, Any] = {}
        self.checks: list[Getter] = []
        self.params: list[Getter] = [lambda i: i.owner_id]
        self.needs_time_zone = False
        self._aliases = 0
        self._whitespace: str | None = None
        # Conditions the statement checks before answering; when one fails it answers NULL
        # and the resolvers answer instead (an unknown contactId is their error to give).
        self.requires: list[str] = []

    # -- plumbing ------------------------------------------------------------------------------

    def decide(self, read: Getter, key: Hashable | None = None) -> Any:
        """Return a value the SQL's shape depends on, and remember it as a guard.

        A ``key`` met before returns the value it had: one guard for one question.
        """
        if key is not None and key in self._decided:
            return self._decided[key]
        value = read(self.inputs)
        self.guards.append(Guard(read, value))
        if len(self.guards) > MAX_GUARDS:
            raise NotCompilable  # a document built to multiply work: the resolvers answer it
        if key is not None:
            self._decided[key] = value
        return value

    def bind(self, read: Getter, cast: str) -> str:
        self.params.append(read)
        return f"${len(self.params)}::{cast}"

    def page_size(self, read: Getter) -> str:
        """A page size, written into the SQL as a number; each size is a shape of its own.

        A LIMIT that is a parameter makes PostgreSQL's generic plan assume a tenth of the rows,
        so its estimate for the nested lists is twenty times the custom plans' and it plans
        every execution anew: about a third of the home statement's time. The value is an
        ``int`` the getter checked (0 to the maximum page size); it is never text.
        """
        value = self.decide(read)
        if type(value) is not int:
            raise NotCompilable
        return str(value)

    def alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    def find_type(self, name: str) -> GraphQLObjectType:
        found = self.schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found

    def collect(self, object_type: GraphQLObjectType, nodes: Sequence[FieldNode]) -> Fields:
        return collect_fields(
            self.schema, self.fragments, object_type, [n.selection_set for n in nodes], self.decide
        )

    def read_arguments(self, definition: GraphQLField, node: FieldNode) -> Getter:
        """Return a reader of the field's arguments, and check them as CheckArguments does."""

        def read(inputs: Inputs) -> dict[str, Any]:
            return inputs.arguments(definition, node)

        def check(inputs: Inputs) -> None:
            values = read(inputs)
            for name, argument in definition.args.items():
                if breaks_rules(argument.type, values.get(name)):
                    raise Fallback

        self.checks.append(check)
        return read

    def render_object(
        self,
        object_type: GraphQLObjectType,
        fields: Fields,
        render_field: Callable[[str, list[FieldNode]], str],
    ) -> str:
        """Render an object's fields in selection order, as ``{"key":value,...}``."""
        parts: list[str | Expr] = []
        for index, (key, nodes) in enumerate(fields.items()):
            parts.append(("{" if index == 0 else ",") + f'"{key}":')
            name = nodes[0].name.value
            if name == "__typename":
                parts.append(f'"{object_type.name}"')
            else:
                parts.append(Expr(render_field(name, nodes)))
        parts.append("}" if fields else "{}")
        return concat(parts)

    def render_columns(
        self,
        object_type: GraphQLObjectType,
        nodes: Sequence[FieldNode],
        row: Row,
        table: dict[str, tuple[str, Render, bool]],
        special: Callable[[str, list[FieldNode]], str] | None = None,
    ) -> str:
        def render_field(name: str, field_nodes: list[FieldNode]) -> str:
            if name in table:
                column, to_json, nullable = table[name]
                bare = render.BARE.get(to_json)
                value = render.quoted(row.once(column, bare)) if bare else to_json(row.col(column))
                return or_null(value) if nullable else value
            if special is None:
                raise NotCompilable
            return special(name, field_nodes)

        return self.render_object(object_type, self.collect(object_type, nodes), render_field)

    # -- the operation -------------------------------------------------------------------------

    def render_operation(self, operation: OperationDefinitionNode) -> str:
        query = self.schema.query_type
        assert query is not None
        roots = {
            "contacts": self.render_contacts,
            "me": self.render_me,
            "tags": self.render_tags,
            "contact": self.render_contact_lookup,
            "interaction": self.render_interaction_lookup,
            "interactions": self.render_interactions,
        }

        def render_field(name: str, nodes: list[FieldNode]) -> str:
            if name not in roots:
                raise NotCompilable
            return roots[name](nodes)

        fields = collect_fields(
            self.schema, self.fragments, query, [operation.selection_set], self.decide
        )
        body = self.render_object(query, fields, render_field)
        if not self.requires:
            return "SELECT " + body
        return f"SELECT CASE WHEN {' AND '.join(self.requires)} THEN {body} END"

    # -- contact(id) and interaction(id) -------------------------------------------------------

    def render_lookup(
        self,
        name: str,
        nodes: list[FieldNode],
        found: Callable[[list[FieldNode], Row, Getter], str],
        from_where: Callable[[str, str], str],
    ) -> str:
        """A ``*Lookup`` union: the object when it is the owner's and alive, else NotFound.

        An id that does not parse answers the union's ValidationError: the resolvers do that.
        ``found`` renders the object and gets the reader of its id (parsed).
        """
        query = self.schema.query_type
        assert query is not None
        args = self.read_arguments(query.fields[name], nodes[0])

        def parsed(i: Inputs) -> Any:
            try:
                return parse_uuid("id", args(i)["id"])
            except ValidationFailed:
                raise Fallback from None

        object_id = self.bind(parsed, "uuid")
        raw_id = self.bind(lambda i: args(i)["id"], "text")
        not_found_type = self.find_type("NotFound")

        def not_found(field_name: str, field_nodes: list[FieldNode]) -> str:
            if field_name == "message":
                return render.string(
                    f"'No {name} with id ' || {raw_id} || ' exists for this account.'"
                )
            if field_name == "entity":
                return render.string(render.literal(name))
            if field_name == "id":
                return render.string(raw_id)
            raise NotCompilable

        missing = self.render_object(not_found_type, self.collect(not_found_type, nodes), not_found)
        alias = self.alias("x")
        return (
            f"coalesce((SELECT {found(nodes, Row(alias), parsed)} "
            f"{from_where(alias, object_id)}), "
            f"{missing})"
        )

    def render_contact_lookup(self, nodes: list[FieldNode]) -> str:
        return self.render_lookup(
            "contact",
            nodes,
            lambda field_nodes, row, contact_id: self.render_contact(field_nodes, row, contact_id),
            lambda c, contact_id: (
                f"FROM contacts {c} WHERE {c}.owner_id = {OWNER} AND {c}.id = {contact_id} "
                f"AND {c}.cl % 2 = 1"
            ),
        )

    def render_interaction_lookup(self, nodes: list[FieldNode]) -> str:
        return self.render_lookup(
            "interaction",
            nodes,
            lambda field_nodes, row, _: self.render_interaction(field_nodes, row),
            lambda i, interaction_id: (
                f"FROM interactions {i} WHERE {i}.owner_id = {OWNER} "
                f"AND {i}.id = {interaction_id} AND {i}.cl % 2 = 1"
            ),
        )

    # -- interactions(contactId, first, after) -------------------------------------------------

    def render_interactions(self, nodes: list[FieldNode]) -> str:
        query = self.schema.query_type
        assert query is not None
        definition = query.fields["interactions"]
        args = self.read_arguments(definition, nodes[0])
        first = self.page_size(lambda i: check_first(args(i)["first"], i.max_page_size))

        def contact_id(i: Inputs) -> Any:
            try:
                return parse_uuid("contactId", args(i)["contactId"])
            except ValidationFailed:
                raise Fallback from None

        one_contact = self.decide(lambda i: args(i)["contactId"] is not None)
        ip, i = self.alias("ip"), self.alias("i")
        tag_sql: str | Expr
        if one_contact:
            contact = self.bind(contact_id, "uuid")
            # The resolvers refuse a contactId that names no living contact of the owner.
            c = self.alias("c")
            self.requires.append(
                f"EXISTS (SELECT 1 FROM contacts {c} WHERE {c}.owner_id = {OWNER} "
                f"AND {c}.id = {contact} AND {c}.cl % 2 = 1)"
            )
            keys = interaction_store.BY_CONTACT
            conditions = [
                f"{ip}.owner_id = {OWNER}",
                f"{ip}.contact_id = {contact}",
                f"{ip}.alive",
            ]
            counted = (
                f"SELECT count(*) FROM interaction_participants {ip} "
                f"WHERE {' AND '.join(conditions)}"
            )
            after_given = self.decide(lambda inputs: args(inputs)["after"] is not None)
            if after_given:
                columns = [f"{ip}.occurred_at", f"{ip}.interaction_id"]
                conditions.append(
                    self.after_condition(
                        args, lambda x: f"interactions:{contact_id(x)}", keys, columns
                    )
                )
            tag_sql = Expr(f"'interactions:' || ({contact})::text")
            where = " AND ".join(conditions)

            def source(columns: set[str], limit: str) -> str:
                selected = ", ".join(f"{i}.{n}" for n in sorted(columns | {"occurred_at", "id"}))
                return (
                    f"SELECT {selected} FROM interaction_participants {ip} JOIN interactions {i} "
                    f"ON {i}.owner_id = {ip}.owner_id AND {i}.id = {ip}.interaction_id "
                    f"WHERE {i}.owner_id = {OWNER} AND {where} "
                    f"ORDER BY {ip}.occurred_at DESC, {ip}.interaction_id DESC LIMIT {limit}"
                )

        else:
            keys = interaction_store.ALL
            p, c = self.alias("ip"), self.alias("c")
            living = (
                f"EXISTS (SELECT 1 FROM interaction_participants {p} JOIN contacts {c} "
                f"ON {c}.owner_id = {p}.owner_id AND {c}.id = {p}.contact_id "
                f"WHERE {p}.owner_id = {OWNER} AND {c}.owner_id = {OWNER} "
                f"AND {p}.interaction_id = {i}.id AND {c}.cl % 2 = 1)"
            )
            conditions = [f"{i}.owner_id = {OWNER}", f"{i}.cl % 2 = 1", living]
            counted = f"SELECT count(*) FROM interactions {i} WHERE {' AND '.join(conditions)}"
            after_given = self.decide(lambda inputs: args(inputs)["after"] is not None)
            if after_given:
                columns = [f"{i}.occurred_at", f"{i}.id"]
                conditions.append(
                    self.after_condition(args, lambda x: "interactions", keys, columns)
                )
            tag_sql = "interactions"
            where_all = " AND ".join(conditions)

            def source(columns: set[str], limit: str) -> str:
                selected = ", ".join(f"{i}.{n}" for n in sorted(columns | {"occurred_at", "id"}))
                return (
                    f"SELECT {selected} FROM interactions {i} WHERE {where_all} "
                    f"ORDER BY {i}.occurred_at DESC, {i}.id DESC LIMIT {limit}"
                )

        def cursor(row: Row) -> str:
            occurred = render.datetime_bare(row.col("occurred_at"))
            return render.base64url(
                [
                    '["',
                    tag_sql,
                    '","',
                    Expr(occurred),
                    '","',
                    Expr(f"({row.col('id')})::text"),
                    '"]',
                ]
            )

        return self.render_connection(
            definition,
            nodes,
            first=first,
            source=source,
            order=lambda s: f"{s}.occurred_at DESC, {s}.id DESC",
            cursor=cursor,
            node=self.render_interaction,
            count=counted,
            after_given=after_given,
        )

    # -- me and tags ---------------------------------------------------------------------------

    def render_me(self, nodes: list[FieldNode]) -> str:
        user = self.alias("u")
        row = Row(user)
        lead_type = self.find_type("LeadDays")

        def special(name: str, field_nodes: list[FieldNode]) -> str:
            if name != "leadDays":
                raise NotCompilable

            def lead(key: str, lead_nodes: list[FieldNode]) -> str:
                stored, default = LEAD_DAYS[key]
                value = f"coalesce({row.col('lead_days')} -> '{stored}', '{default}'::jsonb)"
                return or_null(render.jsonb_ints(value))

            return self.render_object(lead_type, self.collect(lead_type, field_nodes), lead)

        body = self.render_columns(self.find_type("User"), nodes, row, USER_COLUMNS, special)
        return or_null(f"(SELECT {body} FROM users {user} WHERE {user}.id = {OWNER})")

    def render_tag_list(self, nodes: list[FieldNode], row: Row, from_where: str, order: str) -> str:
        body = self.render_columns(self.find_type("Tag"), nodes, row, TAG_COLUMNS)
        return (
            f"(SELECT '[' || coalesce(string_agg({body}, ',' ORDER BY {order}), '') || ']' "
            f"{from_where})"
        )

    def render_tags(self, nodes: list[FieldNode]) -> str:
        t = self.alias("t")
        return self.render_tag_list(
            nodes,
            Row(t),
            f"FROM tags {t} WHERE {t}.owner_id = {OWNER} AND {t}.cl % 2 = 1",
            f"{t}.name_key, {t}.id",
        )

    # -- contacts ------------------------------------------------------------------------------

    def render_contacts(self, nodes: list[FieldNode]) -> str:
        query = self.schema.query_type
        assert query is not None
        definition = query.fields["contacts"]
        args = self.read_arguments(definition, nodes[0])
        size = self.page_size(lambda i: check_page(args(i), i.max_page_size))
        # Backward (``last``): read in the reversed order, then render the rows in the normal one.
        backward = self.decide(lambda i: args(i)["last"] is not None)
        order = contact_store.ContactOrder(self.decide(lambda i: read_enum(args(i)["orderBy"])))
        keys = contact_store.ORDERINGS[order]
        reversed_keys = keyset.reverse_keys(keys)
        read_keys = reversed_keys if backward else keys
        tag = f"contacts:{order.value}"
        c = self.alias("c")
        conditions = [
            f"{c}.owner_id = {OWNER}",
            f"{c}.cl % 2 = 1",
            *self.filter_conditions(args, c),
        ]
        counted = " AND ".join(conditions)
        columns = [f"{c}.{k.name}" for k in keys]
        # Each range is one index range of the ordering (keyset.after_branches).
        after_ranges: list[str | None] = [None]
        after_given = self.decide(lambda i: args(i)["after"] is not None)
        if after_given:
            after_ranges = [*self.after_branches(args, lambda i: tag, keys, columns)]
        before_ranges: list[str | None] = [None]
        before_given = self.decide(lambda i: args(i)["before"] is not None)
        if before_given:
            # "Before x" in this order is "after x" in the reversed one (store/contacts.py).
            before_ranges = [
                *self.after_branches(args, lambda i: tag, keys, columns, "before", reversed_keys)
            ]
        ranges = [
            " AND ".join([*conditions, *(r for r in (a, b) if r is not None)])
            for a in after_ranges
            for b in before_ranges
        ]
        order_by = ", ".join(render_order(c, k) for k in read_keys)

        def source(columns: set[str], limit: str) -> str:
            wanted = columns | {k.name for k in keys} | {"id"}
            selected = ", ".join(f"{c}.{name}" for name in sorted(wanted))
            # Each range is read under the page's LIMIT, a number in the SQL (Compiler.page_size),
            # so the ordering's index is walked and stops after the page.
            reads = [
                f"SELECT {selected} FROM contacts {c} WHERE {where} "
                f"ORDER BY {order_by} LIMIT {limit}"
                for where in ranges
            ]
            if len(reads) == 1:
                return reads[0]
            # Disjoint ranges, each read in order; the page is the first rows of their merge,
            # as store/contacts.py's list_contacts reads it.
            merged = self.alias("m")
            return (
                f"SELECT * FROM ({' UNION ALL '.join(f'({r})' for r in reads)}) {merged} "
                f"ORDER BY {', '.join(render_order(merged, k) for k in read_keys)} "
                f"LIMIT {limit}"
            )

        def cursor(row: Row) -> str:
            parts: list[str | Expr] = [f'["{tag}"']
            for key in keys:
                parts.append(",")
                parts.append(Expr(render_cursor_value(key.kind, row, key.name)))
            parts.append("]")
            return render.base64url(parts)

        return self.render_connection(
            definition,
            nodes,
            first=size,
            source=source,
            order=lambda s: ", ".join(render_order(s, k) for k in read_keys),
            cursor=cursor,
            node=self.render_contact,
            count=f"SELECT count(*) FROM contacts {c} WHERE {counted}",
            after_given=after_given,
            before_given=before_given,
            backward=backward,
        )

    def filter_conditions(self, args: Getter, c: str) -> list[str]:
        if not self.decide(lambda i: args(i)["filter"] is not None):
            return []

        def where(i: Inputs) -> dict[str, Any]:
            found: dict[str, Any] = args(i)["filter"]
            return found

        def check(i: Inputs) -> None:
            # _contact_filter's own rules; the resolvers answer with its errors.
            days = where(i)["birthdayWithinDays"]
            search = where(i)["search"]
            if days is not None and not 0 <= days <= 366:
                raise Fallback
            if search is not None and len(search) > 200:
                raise Fallback
            parse_tag_ids(where(i))

        self.checks.append(check)
        conditions: list[str] = []
        if self.decide(lambda i: bool(where(i)["search"])):
            search = self.bind(lambda i: escape_like(where(i)["search"].casefold()), "text")
            conditions.append(f"{c}.search_text LIKE '%' || {search} || '%' ESCAPE '/'")
        if self.decide(lambda i: bool(where(i)["company"])):
            company = self.bind(lambda i: where(i)["company"].casefold(), "text")
            conditions.append(f"lower({c}.company) = {company}")
        if self.decide(lambda i: bool(where(i)["stages"])):
            stages = self.bind(lambda i: [read_enum(s) for s in where(i)["stages"]], "text[]")
            conditions.append(f"{c}.stage = ANY({stages})")
        if self.decide(lambda i: where(i)["followUpDueBefore"] is not None):
            before = self.bind(lambda i: where(i)["followUpDueBefore"], "timestamptz")
            conditions.append(f"{c}.next_follow_up_at < {before}")
        if self.decide(lambda i: where(i)["birthdayWithinDays"] is not None):
            self.needs_time_zone = True
            days = self.bind(
                lambda i: compute_birthday_keys(i, where(i)["birthdayWithinDays"]), "int[]"
            )
            conditions.append(f"({c}.birthday_month * 100 + {c}.birthday_day) = ANY({days})")
        if self.decide(lambda i: bool(where(i)["tagIds"])):
            tag_ids = self.bind(lambda i: parse_tag_ids(where(i)), "uuid[]")
            ct, t = self.alias("ct"), self.alias("t")
            conditions.append(
                f"EXISTS (SELECT 1 FROM contact_tags {ct} JOIN tags {t} "
                f"ON {t}.owner_id = {ct}.owner_id AND {t}.id = {ct}.tag_id "
                f"WHERE {ct}.owner_id = {OWNER} AND {t}.owner_id = {OWNER} "
                f"AND {ct}.contact_id = {c}.id AND {ct}.tag_id = ANY({tag_ids}) "
                f"AND {ct}.cl % 2 = 1 AND {t}.cl % 2 = 1)"
            )
        return conditions

    def after_condition(
        self,
        args: Getter,
        tag: Callable[[Inputs], str],
        keys: Sequence[keyset.SortKey],
        columns: Sequence[str],
    ) -> str:
        """Rows past the ``after`` cursor, as one condition (a listing of one index range)."""
        branches = self.after_branches(args, tag, keys, columns)
        return branches[0] if len(branches) == 1 else f"({' OR '.join(branches)})"

    def after_branches(
        self,
        args: Getter,
        tag: Callable[[Inputs], str],
        keys: Sequence[keyset.SortKey],
        columns: Sequence[str],
        argument: str = "after",
        condition_keys: Sequence[keyset.SortKey] | None = None,
    ) -> list[str]:
        """Rows past the cursor in ``argument``, in the order of ``condition_keys`` (``keys``).

        The cursor is always decoded with the listing's own ``keys``; a ``before`` cursor is
        applied with the reversed ones. The answer is keyset.after_branches': disjoint
        conditions, each an index range.
        """

        def values(i: Inputs) -> list[Any]:
            try:
                return keyset.decode_cursor(tag(i), keys, args(i)[argument])
            except keyset.BadCursor:
                raise Fallback from None

        # NULL sort values change the condition's shape (keyset.after_branches).
        nulls = self.decide(lambda i: tuple(v is None for v in values(i)))
        # A NULL is written as IS NULL, not bound: PostgreSQL can't type an unused parameter.
        bound = [
            "NULL" if is_null else self.bind(read_nth(values, n), CAST[key.kind])
            for n, (key, is_null) in enumerate(zip(keys, nulls, strict=True))
        ]
        applied = list(keys if condition_keys is None else condition_keys)
        return render_after_branches(list(columns), applied, bound, list(nulls))

    def render_contact(
        self, nodes: list[FieldNode], row: Row, contact_id: Getter | None = None
    ) -> str:
        """A contact's fields; ``contact_id`` reads its id when the request names it."""
        contact_type = self.find_type("Contact")

        def special(name: str, field_nodes: list[FieldNode]) -> str:
            if name == "displayName":
                if self._whitespace is None:
                    self._whitespace = self.bind(lambda i: render.WHITESPACE, "text")
                full = f"{row.col('first_name')} || ' ' || {row.col('last_name')}"
                return render.string(f"btrim({full}, {self._whitespace})")
            if name in ("emails", "phones", "urls"):
                return self.render_labeled(field_nodes, row.col(_to_snake_case(name)))
            if name == "birthday":
                return self.render_birthday(field_nodes, row)
            if name == "interests":
                return render.jsonb_strings(row.col("interests"))
            if name == "leadDays":
                return or_null(render.jsonb_ints(row.col("lead_days")))
            if name == "tags":
                ct, t = self.alias("ct"), self.alias("t")
                return self.render_tag_list(
                    field_nodes,
                    Row(t),
                    f"FROM contact_tags {ct} JOIN tags {t} "
                    f"ON {t}.owner_id = {ct}.owner_id AND {t}.id = {ct}.tag_id "
                    f"WHERE {ct}.owner_id = {OWNER} AND {t}.owner_id = {OWNER} "
                    f"AND {ct}.contact_id = {row.col('id')} AND {ct}.cl % 2 = 1 AND {t}.cl % 2 = 1",
                    f"{t}.name_key",
                )
            if name == "interactions":
                return self.render_contact_interactions(field_nodes, row, contact_id)
            if name == "introducedBy":
                other = self.alias("c")
                body = self.render_contact(field_nodes, Row(other))
                return or_null(
                    f"(SELECT {body} FROM contacts {other} WHERE {other}.owner_id = {OWNER} "
                    f"AND {other}.id = {row.col('introduced_by_id')} AND {other}.cl % 2 = 1)"
                )
            raise NotCompilable

        return self.render_columns(contact_type, nodes, row, CONTACT_COLUMNS, special)

    def render_interaction(self, nodes: list[FieldNode], row: Row) -> str:
        def special(name: str, field_nodes: list[FieldNode]) -> str:
            if name == "sentiment":
                return self.render_sentiment(field_nodes, row.col("sentiment"))
            if name != "contacts":
                raise NotCompilable
            # participants_of, then the living contacts among them, by sort name.
            ip, c = self.alias("ip"), self.alias("c")
            body = self.render_contact(field_nodes, Row(c))
            return (
                f"(SELECT '[' || coalesce(string_agg({body}, ',' "
                f"ORDER BY {c}.sort_name, {c}.id), '') || ']' "
                f"FROM interaction_participants {ip} JOIN contacts {c} "
                f"ON {c}.owner_id = {ip}.owner_id AND {c}.id = {ip}.contact_id "
                f"WHERE {ip}.owner_id = {OWNER} AND {c}.owner_id = {OWNER} "
                f"AND {ip}.interaction_id = {row.col('id')} AND {c}.cl % 2 = 1)"
            )

        return self.render_columns(
            self.find_type("Interaction"), nodes, row, INTERACTION_COLUMNS, special
        )

    def render_sentiment(self, nodes: list[FieldNode], score: str) -> str:
        """Sentiment.from_score: null without a score, else the score and its label."""
        sentiment_type = self.find_type("Sentiment")

        def render_field(name: str, field_nodes: list[FieldNode]) -> str:
            if name == "compound":
                return render.float_number(score)
            if name == "label":
                # sentiment.label_for's thresholds, compared as the same doubles.
                return (
                    f"CASE WHEN {score} >= {sentiment.POSITIVE_FROM!r}::float8 "
                    f"THEN '\"{sentiment.Label.POSITIVE.name}\"' "
                    f"WHEN {score} <= {sentiment.NEGATIVE_UPTO!r}::float8 "
                    f"THEN '\"{sentiment.Label.NEGATIVE.name}\"' "
                    f"ELSE '\"{sentiment.Label.NEUTRAL.name}\"' END"
                )
            raise NotCompilable

        body = self.render_object(sentiment_type, self.collect(sentiment_type, nodes), render_field)
        return f"CASE WHEN {score} IS NULL THEN 'null' ELSE {body} END"

    def render_labeled(self, nodes: list[FieldNode], column: str) -> str:
        e = self.alias("e")
        labeled_type = self.find_type("LabeledValue")

        def render_field(name: str, field_nodes: list[FieldNode]) -> str:
            if name == "label":
                return render.string(f"coalesce({e}.v ->> 'label', '')")
            if name == "value":
                return or_null(render.string(f"{e}.v ->> 'value'"))
            raise NotCompilable

        body = self.render_object(labeled_type, self.collect(labeled_type, nodes), render_field)
        array = f"CASE WHEN jsonb_typeof({column}) = 'array' THEN {column} ELSE '[]'::jsonb END"
        return (
            f"(SELECT '[' || coalesce(string_agg({body}, ',' ORDER BY {e}.o), '') || ']' "
            f"FROM jsonb_array_elements({array}) WITH ORDINALITY AS {e}(v, o))"
        )

    def render_birthday(self, nodes: list[FieldNode], row: Row) -> str:
        birthday_type = self.find_type("Birthday")
        month = row.col("birthday_month")

        def render_field(name: str, field_nodes: list[FieldNode]) -> str:
            if name == "month":
                return render.number(month)
            if name == "day":
                return or_null(render.number(row.col("birthday_day")))
            if name == "year":
                return or_null(render.number(row.col("birthday_year")))
            raise NotCompilable

        body = self.render_object(birthday_type, self.collect(birthday_type, nodes), render_field)
        return f"CASE WHEN {month} IS NULL THEN 'null' ELSE {body} END"

    def render_contact_interactions(
        self, nodes: list[FieldNode], contact: Row, known_id: Getter | None = None
    ) -> str:
        definition = self.find_type("Contact").fields["interactions"]
        args = self.read_arguments(definition, nodes[0])
        first = self.page_size(lambda i: check_first(args(i)["first"], i.max_page_size))
        contact_id = contact.col("id")
        ip, i = self.alias("ip"), self.alias("i")
        past_cursor = ""
        after_given = self.decide(lambda i: args(i)["after"] is not None)
        if after_given:
            if known_id is None:
                # Under a list, each contact's cursor names that contact; the resolvers give
                # the others their BadCursor errors.
                raise NotCompilable
            # A cursor naming another contact falls back: the resolvers answer it.
            condition = self.after_condition(
                args,
                lambda i: f"interactions:{known_id(i)}",
                interaction_store.BY_CONTACT,
                [f"{ip}.occurred_at", f"{ip}.interaction_id"],
            )
            past_cursor = f"AND {condition} "

        def source(columns: set[str], limit: str) -> str:
            wanted = columns | {"occurred_at", "id"}
            selected = ", ".join(f"{i}.{name}" for name in sorted(wanted))
            return (
                f"SELECT {selected} FROM interaction_participants {ip} JOIN interactions {i} "
                f"ON {i}.owner_id = {ip}.owner_id AND {i}.id = {ip}.interaction_id "
                f"WHERE {ip}.owner_id = {OWNER} AND {i}.owner_id = {OWNER} "
                f"AND {ip}.contact_id = {contact_id} AND {ip}.alive {past_cursor}"
                f"ORDER BY {ip}.occurred_at DESC, {ip}.interaction_id DESC LIMIT {limit}"
            )

        def cursor(row: Row) -> str:
            occurred = render.datetime_bare(row.col("occurred_at"))
            return render.base64url(
                [
                    '["interactions:',
                    Expr(f"({contact_id})::text"),
                    '","',
                    Expr(occurred),
                    '","',
                    Expr(f"({row.col('id')})::text"),
                    '"]',
                ]
            )

        counted = self.alias("ip")
        return self.render_connection(
            definition,
            nodes,
            first=first,
            source=source,
            order=lambda s: f"{s}.occurred_at DESC, {s}.id DESC",
            cursor=cursor,
            node=self.render_interaction,
            count=(
                f"SELECT count(*) FROM interaction_participants {counted} "
                f"WHERE {counted}.owner_id = {OWNER} AND {counted}.contact_id = {contact_id} "
                f"AND {counted}.alive"
            ),
            after_given=after_given,
        )

    # -- connections ---------------------------------------------------------------------------

    def render_connection(
        self,
        definition: GraphQLField,
        nodes: list[FieldNode],
        *,
        first: str,
        source: Callable[[set[str], str], str],
        order: Callable[[str], str],
        cursor: Callable[[Row], str],
        node: Callable[[list[FieldNode], Row], str],
        count: str,
        after_given: bool = False,
        before_given: bool = False,
        backward: bool = False,
    ) -> str:
        """Render a page as build_connection makes it, from ``first + 1`` rows of ``source``.

        ``p`` numbers the fetched rows; ``q`` renders each row's node and cursor once (only
        for rows on the page), and the outer select aggregates them. Nothing is fetched when
        only ``totalCount`` or ``__typename`` is asked for. ``backward``, ``source`` and
        ``order`` read in the reversed order (row 1 is the one nearest ``before``), and the
        page is rendered from its highest number down, so in the list's normal order.

        Without ``pageInfo`` (a forward page of ``nodes`` or ``edges``, as the home screen
        asks of each contact's interactions) nothing needs the extra row or the numbers:
        ``source`` reads ``first`` rows and they are aggregated in the order it reads them.
        The window functions and the extra row cost about a tenth of the home statement's time.
        """
        connection_type = get_named_type(definition.type)
        assert isinstance(connection_type, GraphQLObjectType)
        edge_type = get_named_type(connection_type.fields["edges"].type)
        page_info_type = get_named_type(connection_type.fields["pageInfo"].type)
        assert isinstance(edge_type, GraphQLObjectType)
        assert isinstance(page_info_type, GraphQLObjectType)
        fields = self.collect(connection_type, nodes)
        numbered = backward or any(f[0].name.value == "pageInfo" for f in fields.values())
        s, p, q = self.alias("s"), self.alias("p"), self.alias("q")
        row = Row(p, inner=s if numbered else None)
        columns: list[str] = []  # q's select list
        uses_rows = False
        uses_fetched = False
        on_page = f"{p}.n <= {first}"
        # Without numbers the rows come straight from ``source``'s ORDER BY ... LIMIT, with no
        # join or grouping between it and the aggregate, so they arrive in order: an ORDER BY
        # in the aggregate would sort each contact's few interactions again (PostgreSQL 15
        # always sorts an aggregate's input), about a twentieth of the home statement's time.
        # The sources order by interaction_participants' copy of occurred_at, which each write
        # keeps equal to the interaction's in the same transaction (sync/interaction.py).
        in_order = f" ORDER BY {q}.n DESC" if backward else f" ORDER BY {q}.n" if numbered else ""
        # The page's row nearest where reading began, and the one farthest from it.
        nearest = f"{p}.n = 1 AND {p}.n <= {first}"
        farthest = f"{p}.n = least({p}.fetched, {first})"
        more = f"CASE WHEN count(*) > {first} THEN 'true' ELSE 'false' END"

        def page_only(value: str) -> str:
            return f"CASE WHEN {on_page} THEN {value} END" if numbered else value

        def cursor_at(name: str, where: str) -> str:
            nonlocal uses_fetched
            uses_fetched = uses_fetched or where == farthest
            if not any(col.endswith(f" AS {name}") for col in columns):
                columns.append(f"CASE WHEN {where} THEN {cursor(row)} END AS {name}")
            return f"coalesce('\"' || max({q}.{name}) || '\"', 'null')"

        def node_column(field_nodes: list[FieldNode]) -> str:
            name = f"node{len(columns)}"
            columns.append(f"{page_only(node(field_nodes, row))} AS {name}")
            return f"{q}.{name}"

        def cursor_column() -> str:
            if not any(col.endswith(" AS cursor") for col in columns):
                columns.append(f"{page_only(cursor(row))} AS cursor")
            return f"{q}.cursor"

        def edge(field_nodes: list[FieldNode]) -> str:
            def render_field(name: str, edge_nodes: list[FieldNode]) -> str:
                if name == "cursor":
                    return f"('\"' || {cursor_column()} || '\"')"
                if name == "node":
                    return node_column(edge_nodes)
                raise NotCompilable

            body = self.render_object(edge_type, self.collect(edge_type, field_nodes), render_field)
            on_page_only = f" FILTER (WHERE {q}.n <= {first})" if numbered else ""
            return f"('[' || coalesce(string_agg({body}, ','{in_order}){on_page_only}, '') || ']')"

        def page_info(field_nodes: list[FieldNode]) -> str:
            def render_field(name: str, info_nodes: list[FieldNode]) -> str:
                # build_connection's rules: the side reading went towards is known from the
                # extra row; the side it started from, from whether a cursor was given.
                if name == "hasNextPage":
                    return ("'true'" if before_given else "'false'") if backward else more
                if name == "hasPreviousPage":
                    return more if backward else ("'true'" if after_given else "'false'")
                if name == "endCursor":
                    return cursor_at("end_cursor", nearest if backward else farthest)
                if name == "startCursor":
                    return cursor_at("start_cursor", farthest if backward else nearest)
                raise NotCompilable

            return self.render_object(
                page_info_type, self.collect(page_info_type, field_nodes), render_field
            )

        def render_field(name: str, field_nodes: list[FieldNode]) -> str:
            nonlocal uses_rows
            if name == "totalCount":
                return f"({count})::text"
            uses_rows = True
            if name == "nodes":
                return (
                    f"('[' || coalesce(string_agg({node_column(field_nodes)}, ','{in_order}), "
                    "'') || ']')"
                )
            if name == "edges":
                return edge(field_nodes)
            if name == "pageInfo":
                return page_info(field_nodes)
            raise NotCompilable

        body = self.render_object(connection_type, fields, render_field)
        if not uses_rows:
            return f"(SELECT {body})"
        if not numbered:
            selected = ", ".join([f"{p}.*", *columns])
            rows = source(row.columns, first)
            return f"(SELECT {body} FROM (SELECT {selected} FROM ({rows}) {p}) {q})"
        selected = ", ".join([f"{p}.n", *columns])
        fetched = ", count(*) OVER () AS fetched" if uses_fetched else ""
        shared = "".join(f"{sql} AS {name}, " for name, sql in row.shared.items())
        numbered_rows = (
            f"SELECT {s}.*, {shared}row_number() OVER (ORDER BY {order(s)}) AS n{fetched} "
            f"FROM ({source(row.columns, f'{first} + 1')}) {s}"
        )
        return f"(SELECT {body} FROM (SELECT {selected} FROM ({numbered_rows}) {p}) {q})"


def _to_snake_case(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)
