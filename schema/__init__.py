"""The GraphQL schema: types, queries, mutations, limits."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from schema.errors import MaskUnexpectedErrors
from schema.limits import build_extensions
from schema.mutation import Mutation
from schema.query import Query


def build_schema(
    *,
    max_depth: int = 10,
    max_aliases: int = 15,
    max_tokens: int = 2000,
    introspection: bool = True,
) -> strawberry.Schema:
    """Build the schema with its limits; call once per process."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            *build_extensions(
                max_depth=max_depth,
                max_aliases=max_aliases,
                max_tokens=max_tokens,
                introspection=introspection,
            ),
            MaskUnexpectedErrors,
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )
