"""Operation limits and caches, built once per schema.

graphql-core's validation cache keys on the tuple of rule classes, so the depth and alias rules
are created here once; a factory that built them per request would miss the cache every time.
"""

from __future__ import annotations

from collections.abc import Callable

from graphql import ASTValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

CACHE_SIZE = 512


def build_extensions(
    *, max_depth: int, max_aliases: int, max_tokens: int, introspection: bool
) -> list[Callable[[], SchemaExtension]]:
    """Return extension factories that share one set of validation rule classes."""
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
    ]
