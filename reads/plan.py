"""Plans: one statement's text, the guards that say when it applies, and its parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from graphql import FieldNode, GraphQLField
from graphql.execution.values import VariableValues, get_argument_values


class Fallback(Exception):
    """This request must run through the resolvers (they answer it, errors and all)."""


class NotCompilable(Fallback):
    """The operation selects something the compiler does not render."""


@dataclass
class Inputs:
    """What a plan reads from one request: variables, the signed-in owner, the clock."""

    variables: VariableValues
    owner_id: UUID
    now: datetime
    max_page_size: int
    # Read from the database before binding, for plans that need it (birthday windows).
    time_zone: str | None = None
    _arguments: dict[int, dict[str, Any]] = field(default_factory=dict)

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """Return a field's coerced arguments (defaults, literals and variables), once."""
        found = self._arguments.get(id(node))
        if found is None:
            try:
                found = get_argument_values(definition, node, self.variables)
            except Exception:
                raise Fallback from None
            self._arguments[id(node)] = found
        return found


Getter = Callable[[Inputs], Any]


@dataclass(frozen=True)
class Guard:
    """A value the plan's SQL was shaped by (an order, a filter's presence, @skip)."""

    read: Getter
    expected: Any


@dataclass(frozen=True)
class Plan:
    """One compiled operation, or (``sql`` None) a shape known not to compile."""

    guards: tuple[Guard, ...]
    sql: str | None
    checks: tuple[Getter, ...] = ()
    params: tuple[Getter, ...] = ()
    needs_time_zone: bool = False

    def matches(self, inputs: Inputs) -> bool:
        """Whether this request has the shape the plan was compiled for."""
        return all(guard.read(inputs) == guard.expected for guard in self.guards)
