"""Score types shared by nodes and insights: an interaction's sentiment."""

from __future__ import annotations

import strawberry

from insights import sentiment

strawberry.enum(sentiment.Label, name="SentimentLabel", description="VADER's ±0.05 convention.")


@strawberry.type(description="How the interaction's text reads, scored on the server (VADER).")
class Sentiment:
    compound: float = strawberry.field(description="-1 (most negative) to +1 (most positive).")
    label: sentiment.Label

    @classmethod
    def from_score(cls, compound: float | None) -> Sentiment | None:
        if compound is None:
            return None
        return cls(compound=compound, label=sentiment.label_for(compound))
