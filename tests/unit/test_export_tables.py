"""Every table a user owns is in their export, or named here with why it is not."""

from __future__ import annotations

import re

from store.sharding import GLOBAL_TABLES, owned_tables
from transfer.archive import CONTACTS_VCF, JSON_FILES

# Bookkeeping the server keeps for sync and planning, none of it the user's own data.
LEFT_OUT = {
    "sync_owners": "the owner's version counter and clock",
    "sync_clients": "each device's last applied mutation number",
    "sync_rejections": "mutations a device sent that were refused (they never became data)",
    "sync_conflicts": "the losing side of concurrent text edits, shown by the app until resolved",
    "tag_aliases": "offline tag ids mapped onto the tag that kept the name",
    "planner_owners": "when the notification planner last planned the owner",
    "export_downloads": "which export links started a download (each works once)",
}
# Global tables whose rows name a user, and are exported by that user's id.
GLOBAL_EXPORTED = {"users", "colleague_invitations"}


def _named() -> set[str]:
    sql = " ".join([CONTACTS_VCF, *(query for _, query in JSON_FILES)])
    return set(re.findall(r"\bFROM (\w+)", sql))


def test_every_owned_table_is_exported_or_named_as_left_out() -> None:
    owned = {table.name for table in owned_tables()}
    assert owned - _named() == set(LEFT_OUT)


def test_the_global_tables_exported_are_the_users_own() -> None:
    assert (_named() - {t.name for t in owned_tables()}) == GLOBAL_EXPORTED
    assert set(GLOBAL_TABLES) >= GLOBAL_EXPORTED
