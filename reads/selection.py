"""Which fields a selection set asks for, by response key, as GraphQL's CollectFields does.

Fragments (named and inline) are expanded in place, a named one once per selection set (as
graphql-core does: spread again, it adds nothing), ``@skip`` and ``@include`` are honoured,
and fields with the same response key are merged, in the order the keys first appear.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionSetNode,
    is_abstract_type,
)
from graphql.execution.values import get_directive_values

from reads.plan import Getter, Inputs, NotCompilable

Fields = dict[str, list[FieldNode]]
# Records a value the SQL depends on and returns it (Compiler.decide); one guard per key.
Decide = Callable[[Getter, Hashable], Any]


def find_fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def collect_fields(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    object_type: GraphQLObjectType,
    selection_sets: Sequence[SelectionSetNode | None],
    decide: Decide,
) -> Fields:
    """Return the fields asked of ``object_type`` by these (merged) selection sets."""
    fields: Fields = {}
    visited: set[str] = set()
    for selection_set in selection_sets:
        if selection_set is not None:
            _collect(schema, fragments, object_type, selection_set, decide, fields, visited)
    return fields


def _collect(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    object_type: GraphQLObjectType,
    selection_set: SelectionSetNode,
    decide: Decide,
    fields: Fields,
    visited: set[str],
) -> None:
    for selection in selection_set.selections:
        if not _included(selection, decide):
            continue
        if isinstance(selection, FieldNode):
            key = (selection.alias or selection.name).value
            fields.setdefault(key, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            if _applies(schema, object_type, selection.type_condition):
                _collect(
                    schema, fragments, object_type, selection.selection_set, decide, fields, visited
                )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in visited:
                continue
            visited.add(name)
            fragment = fragments.get(name)
            if fragment is None:
                raise NotCompilable
            if _applies(schema, object_type, fragment.type_condition):
                _collect(
                    schema, fragments, object_type, fragment.selection_set, decide, fields, visited
                )
        else:
            raise NotCompilable


def _included(selection: Any, decide: Decide) -> bool:
    for directive in selection.directives or ():
        if directive.name.value not in ("skip", "include"):
            raise NotCompilable  # @defer, @stream or anything else the resolvers know
    if not selection.directives:
        return True
    # Keyed by the node: a fragment met at several levels adds its directives' guards once.
    skip = decide(
        lambda inputs: _directive(GraphQLSkipDirective, selection, inputs), (id(selection), "skip")
    )
    include = decide(
        lambda inputs: _directive(GraphQLIncludeDirective, selection, inputs),
        (id(selection), "include"),
    )
    # (The lambdas close over this call's ``selection``: one frame per call, no loop rebinding.)
    return skip is not True and include is not False


def _directive(directive: Any, node: Any, inputs: Inputs) -> bool | None:
    values = get_directive_values(directive, node, inputs.variables)
    return None if values is None else bool(values["if"])


def _applies(
    schema: GraphQLSchema, object_type: GraphQLObjectType, condition: NamedTypeNode | None
) -> bool:
    if condition is None or condition.name.value == object_type.name:
        return True
    named = schema.get_type(condition.name.value)
    return is_abstract_type(named) and schema.is_sub_type(named, object_type)
