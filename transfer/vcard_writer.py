"""Contacts as vCard 3.0, written with vobject: what phone address books read back.

A birthday without a year is written as Apple writes it (1604, X-APPLE-OMIT-YEAR=1604), which
Apple's and Google's address books read as "no year"; how you met travels as
X-RAPPORT-HOW-WE-MET, which transfer.vcard reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import vobject
from vobject.vcard import Name

HOW_WE_MET = "X-RAPPORT-HOW-WE-MET"


def write_vcard(row: Mapping[str, Any]) -> str:
    """Return one contact (a contacts row) as a vCard."""
    card = vobject.vCard()
    first, last = row["first_name"] or "", row["last_name"] or ""
    card.add("n").value = Name(family=last, given=first)
    card.add("fn").value = f"{first} {last}".strip() or first
    card.add("uid").value = str(row["id"])
    if row["company"]:
        card.add("org").value = [row["company"]]
    if row["title"]:
        card.add("title").value = row["title"]
    for name, items in (("email", row["emails"]), ("tel", row["phones"]), ("url", row["urls"])):
        for item in items or []:
            line = card.add(name)
            line.value = item["value"]
            if item.get("label"):
                line.type_param = item["label"]
    if row["birthday_month"] is not None:
        month, day, year = row["birthday_month"], row["birthday_day"], row["birthday_year"]
        line = card.add("bday")
        line.value = f"{year or 1604:04d}-{month:02d}-{day:02d}"
        if year is None:
            line.x_apple_omit_year_param = "1604"
    if row["notes"]:
        card.add("note").value = row["notes"]
    if row["how_we_met"]:
        card.add(HOW_WE_MET.lower()).value = row["how_we_met"]
    text: str = card.serialize()
    return text
