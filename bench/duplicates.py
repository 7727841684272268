"""Benchmark duplicate candidates: the pure scoring of one address book, in this process.

Run from the repository root::

    .venv/bin/python -m bench.duplicates [--contacts 5000] [--companies 300] [--runs 5]

Generates ``--contacts`` people with Faker (seeded, so every run scores the same book): a
first and last name, one email, one phone, one LinkedIn URL, and a company among
``--companies`` (a tenth of the people work at one big company, the block that costs the
most), then adds 5 % duplicates that share a name at the same company and, for two thirds of
them, an email or a phone. Reports the candidates found and the wall time of
``insights.duplicate.find_candidates`` per run (min and median). Nothing is asserted; the
numbers go to docs/insights.md by hand.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from faker import Faker

from insights.duplicate import Person, find_candidates


def make_book(contacts: int, companies: int) -> list[Person[int]]:
    fake = Faker()
    Faker.seed(1)
    rng = random.Random(1)
    names = [fake.company() for _ in range(companies)]
    big = names[0]
    people: list[Person[int]] = []
    for n in range(contacts):
        people.append(
            Person(
                n,
                fake.first_name(),
                fake.last_name(),
                company=big if rng.random() < 0.1 else rng.choice(names),
                emails=(fake.email(),),
                phones=(fake.phone_number(),),
                urls=(f"https://www.linkedin.com/in/{fake.user_name()}",),
            )
        )
    for n in range(contacts // 20):
        p = people[n]
        people.append(
            Person(
                contacts + n,
                p.first_name,
                p.last_name if n % 2 else f"{p.last_name}-Smith",
                company=p.company,
                emails=p.emails if n % 3 == 0 else (),
                phones=p.phones if n % 3 == 1 else (),
            )
        )
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--companies", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    people = make_book(args.contacts, args.companies)
    times = []
    found = 0
    for _ in range(args.runs):
        start = time.perf_counter()
        found = len(find_candidates(people))
        times.append(time.perf_counter() - start)
    print(
        f"{len(people)} contacts, {found} candidates: "
        f"min {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
