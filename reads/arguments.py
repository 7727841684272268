"""Arguments as the resolvers check them: a request one of these refuses falls back.

Each function applies one of the resolvers' rules to a coerced argument value (a filter's
ranges; ``model``'s text, date and page-size rules) and raises ``Fallback`` where
the resolvers would answer with an error, so that they give it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from graphql import GraphQLInputObjectType, GraphQLList, GraphQLNonNull

from model.dates import check_date, check_instant
from model.errors import ValidationFailed
from model.ids import parse_uuid
from model.pages import DEFAULT_PAGE, check_page_size
from model.text import check_string
from reads.plan import Fallback, Getter, Inputs
from store import contacts as contact_store


def breaks_rules(type_: Any, value: Any) -> bool:
    """Whether CheckArguments would refuse this coerced argument value."""
    if value is None:
        return False
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return any(breaks_rules(type_.of_type, item) for item in items)
    if isinstance(type_, GraphQLInputObjectType):
        return any(breaks_rules(f.type, value.get(n)) for n, f in type_.fields.items())
    if getattr(type_, "name", None) == "JSON":
        return False
    if isinstance(value, str):
        return check_string(value, is_id=type_.name == "ID") is not None
    if isinstance(value, dt.datetime):
        return check_instant(value) is not None
    if isinstance(value, dt.date):
        return check_date(value) is not None
    return False


def read_nth(values: Callable[[Inputs], list[Any]], n: int) -> Getter:
    return lambda inputs: values(inputs)[n]


def check_first(value: int, maximum: int) -> int:
    if check_page_size(value, maximum) is not None:
        raise Fallback
    return value


def check_page(args: dict[str, Any], maximum: int) -> int:
    """check_page's rules for ``contacts``: ``first`` or ``last`` (not both), in range."""
    first, last = args["first"], args["last"]
    if first is not None and last is not None:
        raise Fallback
    if last is not None:
        return check_first(last, maximum)
    return check_first(DEFAULT_PAGE if first is None else first, maximum)


def read_enum(value: Any) -> str:
    return str(getattr(value, "value", value))


def escape_like(text: str) -> str:
    # SQLAlchemy's contains(autoescape=True): '/' escapes itself, '%' and '_'.
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def parse_tag_ids(where: dict[str, Any]) -> list[Any]:
    try:
        return [parse_uuid("filter.tagIds", t) for t in where["tagIds"] or []]
    except ValidationFailed:
        raise Fallback from None


def compute_birthday_keys(inputs: Inputs, days: int) -> list[int]:
    assert inputs.time_zone is not None, "plans with a birthday window read the time zone"
    today = inputs.now.astimezone(ZoneInfo(inputs.time_zone)).date()
    return contact_store.birthday_keys(today, days)
