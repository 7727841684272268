"""The arguments of a pushed mutation: parsed by pydantic, refused naming the field to fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from model.errors import FieldError, ValidationFailed
from sync.writer import MAX_CL

# Causal lengths are PostgreSQL integers: a larger one is refused here, not by the database.
CausalLength = Annotated[int, Field(ge=1, le=MAX_CL)]


class Arguments(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)


class PutArgs(Arguments):
    id: UUID
    fields: dict[str, Any]
    hlc: str
    base: dict[str, str] = Field(default_factory=dict)


class AliveArgs(Arguments):
    id: UUID
    cl: CausalLength | None = None


class MembershipArgs(Arguments):
    tag_id: UUID
    contact_id: UUID
    member: bool
    cl: CausalLength | None = None


class AttendeeArgs(Arguments):
    event_id: UUID
    contact_id: UUID
    fields: dict[str, Any] = Field(default_factory=dict)
    hlc: str | None = None
    cl: CausalLength | None = None


A = TypeVar("A", bound=Arguments)


def parse_args(model: type[A], args: Mapping[str, Any]) -> A:
    try:
        return model.model_validate(args)
    except PydanticValidationError as exc:
        raise ValidationFailed(
            [
                FieldError(
                    ".".join(str(p) for p in ("args", *e["loc"])),
                    "is not an argument of this mutation; remove it"
                    if e["type"] == "extra_forbidden"
                    else str(e["msg"]),
                )
                for e in exc.errors()
            ]
        ) from None


def check_parity(cl: int | None, *, alive: bool, message: str) -> None:
    """Refuse a causal length that says the opposite of the mutation (odd is alive)."""
    if cl is not None and (cl % 2 == 1) != alive:
        raise ValidationFailed([FieldError("args.cl", message)])
