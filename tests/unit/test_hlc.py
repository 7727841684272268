"""Hybrid logical clocks: packing, ordering, ticking."""

from __future__ import annotations

import pytest

from sync.hlc import MAX_COUNTER, Hlc, InvalidHlc, max_hlc, parse_hlc, tick_hlc


def test_packed_clocks_sort_in_clock_order() -> None:
    clocks = [
        Hlc(1_700_000_000_000, 0, "b"),
        Hlc(1_700_000_000_000, 1, "a"),
        Hlc(1_700_000_000_001, 0, "a"),
        Hlc(999, 99, "z"),
    ]
    packed = sorted(c.pack() for c in clocks)
    assert [parse_hlc(p) for p in packed] == sorted(
        clocks, key=lambda c: (c.wall_ms, c.counter, c.node)
    )


def test_ties_are_broken_by_node_id() -> None:
    assert Hlc(5, 0, "device-b").pack() > Hlc(5, 0, "device-a").pack()


def test_tick_moves_with_the_wall_clock_and_counts_within_a_millisecond() -> None:
    first = tick_hlc("", 1000, "server")
    assert first == Hlc(1000, 0, "server")
    same_ms = tick_hlc(first.pack(), 1000, "server")
    assert same_ms == Hlc(1000, 1, "server")
    later = tick_hlc(same_ms.pack(), 2000, "server")
    assert later == Hlc(2000, 0, "server")


def test_tick_never_goes_back_when_the_wall_clock_does() -> None:
    ahead = Hlc(5000, 3, "phone").pack()
    nxt = tick_hlc(ahead, 1000, "server")
    assert nxt.pack() > ahead
    assert nxt == Hlc(5000, 4, "server")


def test_an_exhausted_counter_borrows_the_next_millisecond() -> None:
    full = Hlc(5000, MAX_COUNTER, "server").pack()
    assert tick_hlc(full, 5000, "server") == Hlc(5001, 0, "server")


@pytest.mark.parametrize(
    "text", ["", "12-3-a", "000000000000001-00000-", "000000000000001-00000-a b"]
)
def test_malformed_clocks_are_refused(text: str) -> None:
    with pytest.raises(InvalidHlc):
        parse_hlc(text)


def test_max_hlc_picks_the_latest() -> None:
    a, b = Hlc(1, 0, "a").pack(), Hlc(2, 0, "a").pack()
    assert max_hlc(a, b, "") == b
    assert max_hlc() == ""
