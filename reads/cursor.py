"""The rows past an ``after`` or ``before`` cursor, as keyset conditions on a listing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reads.arguments import read_nth
from reads.compiler import Compiler
from reads.ordering import CAST, render_after_branches
from reads.plan import Fallback, Getter, Inputs
from store import keyset


def after_condition(
    compiler: Compiler,
    args: Getter,
    tag: Callable[[Inputs], str],
    keys: Sequence[keyset.SortKey],
    columns: Sequence[str],
) -> str:
    """Rows past the ``after`` cursor, as one condition (a listing of one index range)."""
    branches = after_branches(compiler, args, tag, keys, columns)
    return branches[0] if len(branches) == 1 else f"({' OR '.join(branches)})"


def after_branches(
    compiler: Compiler,
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
    nulls = compiler.decide(lambda i: tuple(v is None for v in values(i)))
    # A NULL is written as IS NULL, not bound: PostgreSQL can't type an unused parameter.
    bound = [
        "NULL" if is_null else compiler.bind(read_nth(values, n), CAST[key.kind])
        for n, (key, is_null) in enumerate(zip(keys, nulls, strict=True))
    ]
    applied = list(keys if condition_keys is None else condition_keys)
    return render_after_branches(list(columns), applied, bound, list(nulls))
