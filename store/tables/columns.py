"""What every table is made of: the metadata with its naming convention, the owner key, the
sync columns and timestamps."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

now = sa.text("now()")


def timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    ]


def sync_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("server_version", sa.BigInteger, nullable=False),
        sa.Column("field_hlc", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("cl", sa.Integer, nullable=False, server_default=sa.text("1")),
    ]


def owner_column() -> sa.Column[object]:
    return sa.Column(
        "owner_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    )


def owned_fk(
    columns: list[str], table: str, ref: list[str], *, optional: bool = False
) -> sa.ForeignKeyConstraint:
    # An optional reference (who introduced whom) is cleared when its target row goes, and
    # only its own column: SET NULL on the whole key would clear owner_id too.
    ondelete = f"SET NULL ({', '.join(columns)})" if optional else "CASCADE"
    return sa.ForeignKeyConstraint(
        ["owner_id", *columns],
        [f"{table}.owner_id", *(f"{table}.{c}" for c in ref)],
        ondelete=ondelete,
    )
