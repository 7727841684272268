"""The Compiler: what one compilation collects (guards, parameters, checks) and its plumbing.

A Compiler lives for one compilation (``reads.compile.compile_plan``). The renderers of each
root field and object (``reads.contact``, ``reads.interaction``, ``reads.contact_list``, …) are
functions that take it first; they share its aliases, guards and bound parameters, and the
SQL they write is one statement.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from graphql import DocumentNode, FieldNode, GraphQLField, GraphQLObjectType, GraphQLSchema

from reads import render
from reads.arguments import breaks_rules
from reads.columns import Render, Row
from reads.plan import Fallback, Getter, Guard, Inputs, NotCompilable
from reads.render import Expr, concat, or_null
from reads.selection import Fields, collect_fields, find_fragments

OWNER = "$1::uuid"
# Bounds of one plan. Past them the operation falls back: a document of a few kilobytes can
# spread fragments and aliases into far more work than any screen asks for, and a plan (its
# guards and text) lives in the cache.
MAX_GUARDS = 256

# Renders an object's fields from the row it is read from.
ObjectRenderer = Callable[["Compiler", list[FieldNode], Row], str]


class Compiler:
    """One compilation's state; ``contact`` and ``interaction`` render those objects.

    The two object renderers are passed in: a Contact lists its interactions and an
    Interaction its contacts, and this way neither module imports the other.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        inputs: Inputs,
        *,
        contact: ObjectRenderer,
        interaction: ObjectRenderer,
    ) -> None:
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
        self._contact = contact
        self._interaction = interaction

    def render_contact(self, nodes: list[FieldNode], row: Row) -> str:
        return self._contact(self, nodes, row)

    def render_interaction(self, nodes: list[FieldNode], row: Row) -> str:
        return self._interaction(self, nodes, row)

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

    def whitespace(self) -> str:
        """The parameter holding the characters ``displayName`` trims, bound once."""
        if self._whitespace is None:
            self._whitespace = self.bind(lambda i: render.WHITESPACE, "text")
        return self._whitespace
