"""One rule for every argument, before any resolver sees it.

Every field that takes arguments gets ``CheckArguments``, which walks the converted values —
input objects and lists included — and refuses:

- text PostgreSQL cannot store (NUL, unpaired surrogates) or longer than any field keeps
  (``MAX_TEXT``); ids (``ID``) may also hold no control or invisible character;
- dates outside 1900-01-01..2199-12-31, and times outside that range as sent or in UTC.

A refused field answers its union's ``ValidationError`` member when it has one (``field`` is
the input path, without the ``input.`` of a mutation's input), otherwise a GraphQL error with
``extensions.code = "BAD_USER_INPUT"`` and ``extensions.field``. Field-specific rules (a name's
length, a page size) stay with the fields; this is the floor under all of them.
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.base import (
    StrawberryContainer,
    StrawberryObjectDefinition,
    has_object_definition,
)
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.union import StrawberryUnion

from model.dates import check_date, check_instant
from model.text import check_string
from schema.errors import FieldProblem, ValidationError, bad_input

Problem = tuple[str, str]
MAX_PROBLEMS = 10


class CheckArguments(FieldExtension):
    """Refuse arguments that break the text or the date rule before the resolver runs."""

    def __init__(self, skip: Iterable[type] = ()) -> None:
        # Input types whose values another layer judges one by one (a push's mutations are
        # each applied or REJECTED by the write path, so one bad item never fails the push).
        self.skip = frozenset(skip)
        self._answers_validation: bool | None = None
        self.field: StrawberryField | None = None
        # (Python name, GraphQL name, type) of each argument, resolved on first use.
        self._arguments: list[tuple[str, str, Any]] | None = None

    def apply(self, field: StrawberryField) -> None:
        self.field = field

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        refused = self._refuse(info, kwargs)
        if refused is not None:
            return refused
        return next_(source, info, **kwargs)

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info[Any, Any],
        **kwargs: Any,
    ) -> Any:
        refused = self._refuse(info, kwargs)
        if refused is not None:
            return refused
        result = next_(source, info, **kwargs)
        # A subscription's resolver gives an async generator, to be handed on as it is.
        return await result if inspect.isawaitable(result) else result

    def _refuse(self, info: Info[Any, Any], kwargs: dict[str, Any]) -> ValidationError | None:
        field = self.field
        assert field is not None, "the schema applies an extension before resolving"
        names = info.schema.config.name_converter
        if self._arguments is None:
            self._arguments = [
                (a.python_name, names.from_argument(a), a.type) for a in field.arguments
            ]
        found = itertools.chain.from_iterable(
            self._walk(info, type_, kwargs.get(python_name), name)
            for python_name, name, type_ in self._arguments
        )
        # A list of 10,000 bad items needs a handful of examples, not 10,000 of them.
        problems = list(itertools.islice(found, MAX_PROBLEMS))
        if not problems:
            return None
        if self._answers_with_validation_error(field):
            fields = [FieldProblem(field=_input_path(p), message=m) for p, m in problems]
            summary = "; ".join(f"{f.field}: {f.message}" for f in fields)
            return ValidationError(message=f"Fix the input: {summary}", fields=fields)
        path, message = problems[0]
        raise bad_input(path, message)

    def _answers_with_validation_error(self, field: StrawberryField) -> bool:
        if self._answers_validation is None:
            result = field.type
            members: list[Any] = list(result.types) if isinstance(result, StrawberryUnion) else []
            self._answers_validation = ValidationError in members
        return self._answers_validation

    def _walk(self, info: Info[Any, Any], type_: Any, value: Any, path: str) -> Iterator[Problem]:
        if value is None or value is strawberry.UNSET:
            return
        if isinstance(type_, LazyType):
            type_ = type_.resolve_type()
        if isinstance(type_, StrawberryContainer):
            if isinstance(value, list):
                for index, item in enumerate(value):
                    yield from self._walk(info, type_.of_type, item, f"{path}.{index}")
            else:
                yield from self._walk(info, type_.of_type, value, path)
            return
        if type_ is JSON:
            return
        if isinstance(value, str):
            problem = check_string(value, is_id=type_ is strawberry.ID)
        elif isinstance(value, dt.datetime):
            problem = check_instant(value)
        elif isinstance(value, dt.date):
            problem = check_date(value)
        elif has_object_definition(value) and type(value) not in self.skip:
            names = info.schema.config.name_converter
            for field in value.__strawberry_definition__.fields:
                yield from self._walk(
                    info,
                    field.type,
                    getattr(value, field.python_name, None),
                    f"{path}.{names.from_field(field)}",
                )
            return
        else:
            return
        if problem is not None:
            yield path, problem


def _input_path(path: str) -> str:
    # A mutation's ValidationError names fields inside its input, as the write path does.
    return path.removeprefix("input.")


def guard_arguments(roots: Iterable[type], *, skip: Iterable[type] = ()) -> None:
    """Give every field reachable from ``roots`` that takes arguments a ``CheckArguments``."""
    skipped = tuple(skip)
    seen: set[int] = set()
    pending = [r.__strawberry_definition__ for r in roots if has_object_definition(r)]
    while pending:
        definition = pending.pop()
        if id(definition) in seen:
            continue
        seen.add(id(definition))
        for field in definition.fields:
            if field.arguments and not any(isinstance(e, CheckArguments) for e in field.extensions):
                field.extensions.append(CheckArguments(skipped))
            pending.extend(_definitions(field.type))


def _definitions(type_: Any) -> Iterator[StrawberryObjectDefinition]:
    if isinstance(type_, LazyType):
        type_ = type_.resolve_type()
    if isinstance(type_, StrawberryContainer):
        yield from _definitions(type_.of_type)
    elif isinstance(type_, StrawberryUnion):
        for member in type_.types:
            yield from _definitions(member)
    elif isinstance(type_, StrawberryObjectDefinition):
        yield type_
    elif has_object_definition(type_):
        yield type_.__strawberry_definition__
