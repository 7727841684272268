"""Sentiment of an interaction's text: VADER, sentence by sentence.

VADER (Hutto & Gilbert, ICWSM 2014) is a lexicon and a handful of rules; its lexicon ships
with the package, so scoring needs no network and no model download. VADER's rules were
built and validated on snippets (tweets, review sentences), and some reach across the whole
text: one "but" halves every word before it, a run of "!" lifts everything. A note about a
meeting runs for paragraphs, so its sentences are grouped into passages of at most a tweet's
length (280 characters), each passage is scored on its own, and the passages' valences are
summed and normalized as VADER normalizes one text. A text of one passage therefore scores
exactly as plain VADER scores it; ``bench/sentiment.py`` checks the combination against the
human ratings published with VADER.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

# VADER's own convention for its compound score.
POSITIVE_FROM = 0.05
NEGATIVE_UPTO = -0.05

# VADER's normalization constant: compound = sum / sqrt(sum² + ALPHA).
ALPHA = 15.0
PASSAGE = 280

# A sentence ends at . ! ? (or a run of them) before white space, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class Label(StrEnum):
    POSITIVE = "POSITIVE"
    NEUTRAL = "NEUTRAL"
    NEGATIVE = "NEGATIVE"


@dataclass(frozen=True)
class Sentiment:
    compound: float
    label: Label


class _Analyzer(Protocol):
    def polarity_scores(self, text: str) -> dict[str, float]: ...


@functools.cache
def _analyzer() -> _Analyzer:
    # Reading the lexicon takes ~50 ms: once per process, on first use, never at import.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer: _Analyzer = SentimentIntensityAnalyzer()
    return analyzer


def label_for(compound: float) -> Label:
    """Return the label VADER's ±0.05 convention gives a compound score."""
    if compound >= POSITIVE_FROM:
        return Label.POSITIVE
    if compound <= NEGATIVE_UPTO:
        return Label.NEGATIVE
    return Label.NEUTRAL


def split_sentences(text: str) -> list[str]:
    """Split text into its non-empty sentences."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def group_passages(sentences: list[str], limit: int = PASSAGE) -> list[str]:
    """Join consecutive sentences into passages of at most ``limit`` characters."""
    passages: list[str] = []
    current = ""
    for sentence in sentences:
        if current and len(current) + 1 + len(sentence) > limit:
            passages.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        passages.append(current)
    return passages


def _valence(compound: float) -> float:
    # Undo VADER's normalization; its compound is rounded, so ±1 is kept just inside.
    c = max(-0.9999, min(0.9999, compound))
    return c * math.sqrt(ALPHA) / math.sqrt(1 - c * c)


def combine_scores(scores: list[float]) -> float:
    """Combine passage compounds: sum their valences, normalize the sum like VADER."""
    total = sum(_valence(s) for s in scores)
    if len(scores) == 1:
        return scores[0]
    return total / math.sqrt(total * total + ALPHA)


def score_text(*parts: str | None) -> Sentiment | None:
    """Score the given texts as one (summary, body…); None when there is no text at all."""
    sentences = [s for part in parts if part for s in split_sentences(part)]
    if not sentences:
        return None
    analyzer = _analyzer()
    scores = [analyzer.polarity_scores(p)["compound"] for p in group_passages(sentences)]
    compound = round(combine_scores(scores), 4)
    return Sentiment(compound=compound, label=label_for(compound))


def score_plain(text: str) -> Sentiment:
    """Score text as plain VADER does, in one piece (the benchmark's baseline)."""
    compound = _analyzer().polarity_scores(text)["compound"]
    return Sentiment(compound=compound, label=label_for(compound))
