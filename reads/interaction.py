"""An Interaction's fields, its contacts and its sentiment."""

from __future__ import annotations

from graphql import FieldNode

from insights import sentiment
from reads import render
from reads.columns import INTERACTION_COLUMNS, Row
from reads.compiler import OWNER, Compiler
from reads.plan import NotCompilable


def render_interaction(compiler: Compiler, nodes: list[FieldNode], row: Row) -> str:
    def special(name: str, field_nodes: list[FieldNode]) -> str:
        if name == "sentiment":
            return render_sentiment(compiler, field_nodes, row.col("sentiment"))
        if name != "contacts":
            raise NotCompilable
        # participants_of, then the living contacts among them, by sort name.
        ip, c = compiler.alias("ip"), compiler.alias("c")
        body = compiler.render_contact(field_nodes, Row(c))
        return (
            f"(SELECT '[' || coalesce(string_agg({body}, ',' "
            f"ORDER BY {c}.sort_name, {c}.id), '') || ']' "
            f"FROM interaction_participants {ip} JOIN contacts {c} "
            f"ON {c}.owner_id = {ip}.owner_id AND {c}.id = {ip}.contact_id "
            f"WHERE {ip}.owner_id = {OWNER} AND {c}.owner_id = {OWNER} "
            f"AND {ip}.interaction_id = {row.col('id')} AND {c}.cl % 2 = 1)"
        )

    return compiler.render_columns(
        compiler.find_type("Interaction"), nodes, row, INTERACTION_COLUMNS, special
    )


def render_sentiment(compiler: Compiler, nodes: list[FieldNode], score: str) -> str:
    """Sentiment.from_score: null without a score, else the score and its label."""
    sentiment_type = compiler.find_type("Sentiment")

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

    body = compiler.render_object(
        sentiment_type, compiler.collect(sentiment_type, nodes), render_field
    )
    return f"CASE WHEN {score} IS NULL THEN 'null' ELSE {body} END"
