"""Duplicate candidates: normalised keys, blocks, scores and reasons (pure)."""

from __future__ import annotations

from insights.duplicate import (
    MAX_SHARED,
    Person,
    company_key,
    find_candidates,
    phone_key,
    url_key,
)


def test_keys_ignore_what_people_write_differently() -> None:
    assert phone_key("+44 20 7946 0958") == phone_key("020-7946-0958") == "079460958"
    assert phone_key("112") is None  # too short to identify anyone
    assert url_key("https://www.LinkedIn.com/in/ada/?trk=x") == url_key(
        "http://linkedin.com/in/ada"
    )
    assert company_key("Acme, Inc.") == company_key("ACME") == "acme"
    assert company_key("Société Générale SA") == "societe generale"


def test_names_in_another_order_at_the_same_company_are_candidates() -> None:
    people = [
        Person(1, "Ada", "Lovelace", company="Acme Ltd"),
        Person(2, "Lovelace", "Ada", company="ACME"),
        Person(3, "Ada", "Lovelace", company="Other"),
    ]
    (only,) = find_candidates(people)
    assert (only.a, only.b, only.score) == (1, 2, 70)
    assert only.reasons == ("similar names at Acme Ltd: Ada Lovelace and Lovelace Ada (100/100)",)


def test_evidence_adds_up_and_the_best_come_first() -> None:
    people = [
        Person("a", "Grace", "Hopper", emails=("grace@navy.mil",), phones=("+1 202 555 0101",)),
        Person("b", "Grace", "Hopper", emails=("GRACE@navy.mil",), phones=("(202) 555-0101",)),
        Person("c", "Amazing", "Grace", emails=("grace@navy.mil",)),
    ]
    found = find_candidates(people)
    assert [(c.a, c.b) for c in found] == [("a", "b"), ("a", "c"), ("b", "c")]
    best = found[0]
    # 1 - (1 - 0.9) * (1 - 0.8) * (1 - 0.3): email, phone, and the same name.
    assert best.score == 99
    assert best.reasons == (
        "same email grace@navy.mil",
        "same phone +1 202 555 0101",
        "similar names: Grace Hopper and Grace Hopper (100/100)",
    )
    assert found[1].score == 90


def test_a_value_many_contacts_share_is_no_evidence() -> None:
    people = [Person(n, f"Person {n}", phones=("+1 800 555 0000",)) for n in range(MAX_SHARED + 1)]
    assert find_candidates(people) == []
    assert len(find_candidates(people[:MAX_SHARED])) == MAX_SHARED * (MAX_SHARED - 1) // 2
