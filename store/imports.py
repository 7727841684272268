"""The lock that lets one import per owner run at a time, whichever API process serves it."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

# Seeds the hash, so these keys are not another lock's (store.migrate's, store.notifications');
# a 64-bit hash, so two owners share a key (and one waits for nothing) once in 2**64 pairs.
IMPORT_LOCK_SEED = 7_228_437_002
_TRY_LOCK = sa.text(
    "SELECT pg_try_advisory_xact_lock(hashtextextended(CAST(:owner AS text), :seed))"
).bindparams(seed=IMPORT_LOCK_SEED)


async def try_lock_imports(conn: AsyncConnection, *, owner_id: UUID) -> bool:
    """Hold the owner's import lock until the transaction ends; False if another holds it.

    Transaction-scoped: it ends at commit or rollback whatever happened, and it works behind
    PgBouncer's transaction pooling, where a session lock would stay with a server connection
    that other clients go on to use.
    """
    return bool(await conn.scalar(_TRY_LOCK, {"owner": str(owner_id)}))
