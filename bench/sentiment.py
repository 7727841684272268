"""Benchmark the sentiment scorer against VADER's human-rated ground truth.

Run from the repository root::

    .venv/bin/python bench/sentiment.py [--data ../shared/data/vader] [--json PATH]

For each of the four sets published with VADER (Hutto & Gilbert, ICWSM 2014: tweets, movie
reviews, Amazon reviews, NYT editorials; each line ``id<TAB>mean rating<TAB>text``, ratings
from -4 to +4), it scores every text twice, with plain VADER (the whole text at once) and with
the project's scorer (``insights.sentiment.score_text``: sentence by sentence, combined), and
reports for each:

- the Pearson correlation of the compound score with the human mean rating;
- the 3-class F1 (positive / neutral / negative), averaged over the classes weighted by their
  support. Both sides use VADER's ±0.05 convention: the compound score as it is, the human
  mean scaled to -1..1 (divided by 4), so a mean rating within ±0.2 is neutral;
- the scoring throughput of the project's scorer (texts per second, one core).

The paper's figures (tweets: r = 0.881, F1 = 0.96) are printed beside. Nothing asserts; the
table goes to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path; the repository root must come
# first instead, or ``bench`` modules named like packages would shadow them.
ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

from insights import sentiment  # noqa: E402

SETS = {
    "tweets": "tweets_GroundTruth.txt",
    "movie reviews": "movieReviewSnippets_GroundTruth.txt",
    "Amazon reviews": "amazonReviewSnippets_GroundTruth.txt",
    "NYT editorials": "nytEditorialSnippets_GroundTruth.txt",
}
# VADER's correlation with the ground truth and 3-class F1 in the paper. The tweets' figures
# are quoted in issue 6; the others are Table 3's as written from memory (not re-checked).
PAPER = {
    "tweets": (0.881, 0.96),
    "movie reviews": (0.451, 0.61),
    "Amazon reviews": (0.565, 0.63),
    "NYT editorials": (0.492, 0.55),
}


def read_set(path: Path) -> list[tuple[float, str]]:
    rows: list[tuple[float, str]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3:
            rows.append((float(parts[1]), parts[2]))
    return rows


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy)


def weighted_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    total = 0.0
    for label in set(truth):
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p == label != t)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label != p)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        total += f1 * truth.count(label)
    return total / len(truth)


def evaluate(
    rows: list[tuple[float, str]], score: Callable[[str], float]
) -> tuple[float, float, float]:
    started = time.perf_counter()
    scores = [score(text) for _, text in rows]
    elapsed = time.perf_counter() - started
    means = [mean for mean, _ in rows]
    truth = [sentiment.label_for(mean / 4) for mean in means]
    predicted = [sentiment.label_for(s) for s in scores]
    return pearson(scores, means), weighted_f1(truth, predicted), len(rows) / elapsed


def _project(text: str) -> float:
    scored = sentiment.score_text(text)
    return 0.0 if scored is None else scored.compound


def _plain(text: str) -> float:
    return sentiment.score_plain(text).compound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "vader")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = []
    print(
        f"{'set':16} {'n':>6} | {'paper r':>7} {'paper F1':>8} | {'VADER r':>7} {'VADER F1':>8}"
        f" | {'ours r':>7} {'ours F1':>8} | {'ours texts/s':>12}"
    )
    for name, file in SETS.items():
        rows = read_set(args.data / file)
        plain_r, plain_f1, _ = evaluate(rows, _plain)
        ours_r, ours_f1, rate = evaluate(rows, _project)
        paper_r, paper_f1 = PAPER[name]
        print(
            f"{name:16} {len(rows):>6} | {paper_r:>7.3f} {paper_f1:>8.2f} | {plain_r:>7.4f}"
            f" {plain_f1:>8.4f} | {ours_r:>7.4f} {ours_f1:>8.4f} | {rate:>12,.0f}"
        )
        results.append(
            {
                "set": name,
                "n": len(rows),
                "paper": {"r": paper_r, "f1": paper_f1},
                "vader": {"r": plain_r, "f1": plain_f1},
                "ours": {"r": ours_r, "f1": ours_f1, "texts_per_second": rate},
            }
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
