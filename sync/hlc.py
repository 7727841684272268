"""Hybrid logical clocks, packed as strings that sort in clock order.

A clock is ``<wall ms, 15 digits>-<counter, 5 digits>-<node>``. Fixed-width numbers make the
string order equal to the clock order, and the node id at the end breaks ties, so comparing two
packed clocks with ``>`` is the whole merge rule.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_PATTERN = re.compile(r"^(\d{15})-(\d{5})-([A-Za-z0-9_.:-]{1,64})$")
MAX_COUNTER = 99_999


class InvalidHlc(ValueError):
    """The clock is not of the form <15-digit ms>-<5-digit counter>-<node id>."""


class Hlc(NamedTuple):
    wall_ms: int
    counter: int
    node: str

    def pack(self) -> str:
        return f"{self.wall_ms:015d}-{self.counter:05d}-{self.node}"


def parse_hlc(text: str) -> Hlc:
    """Parse a packed clock, raising InvalidHlc with what is wrong."""
    match = _PATTERN.match(text)
    if match is None:
        raise InvalidHlc(f"{text!r} is not a clock like 001732000000000-00000-device1")
    return Hlc(int(match.group(1)), int(match.group(2)), match.group(3))


def tick_hlc(last: str, now_ms: int, node: str) -> Hlc:
    """Return the next clock after ``last`` (packed; "" for none) at wall time ``now_ms``."""
    if not last:
        return Hlc(now_ms, 0, node)
    previous = parse_hlc(last)
    if now_ms > previous.wall_ms:
        return Hlc(now_ms, 0, node)
    if previous.counter >= MAX_COUNTER:
        # The counter is exhausted within one millisecond: borrow the next millisecond.
        return Hlc(previous.wall_ms + 1, 0, node)
    return Hlc(previous.wall_ms, previous.counter + 1, node)


def max_hlc(*clocks: str) -> str:
    """Return the greatest packed clock ("" when none is given)."""
    return max(clocks, default="")
