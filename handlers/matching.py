"""Handlers layer: finding what a user meant from what they typed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process, utils

T = TypeVar("T")
SURE = 85
PLAUSIBLE = 45
MARGIN = 10


def _score(query: str, name: str, **_) -> float:
    # WRatio rewards a name found inside the query, so the key "fraud" would be a sure
    # match for "forecast fraud". Only a query shorter than the name may match a part.
    if len(query) <= len(name):
        return fuzz.WRatio(query, name)
    return fuzz.ratio(query, name)


@dataclass(frozen=True)
class Match(Generic[T]):
    """The one thing a query names, or else the closest suggestions."""

    found: T | None
    suggestions: tuple[T, ...] = ()


def best_match(query: str, candidates: Sequence[tuple[T, Sequence[str]]]) -> Match[T]:
    """Find the candidate a query names; each candidate comes with the names it answers to.

    An exact name (any case) wins. Otherwise a single clear fuzzy winner is taken ("churn"
    finds "Churn predictor"), and anything less certain becomes suggestions.
    """
    needle = query.strip().lower()
    for item, names in candidates:
        if any(needle == name.lower() for name in names):
            return Match(item)
    scores: dict[int, float] = {}
    for index, (_, names) in enumerate(candidates):
        best = process.extractOne(needle, names, scorer=_score, processor=utils.default_process)
        if best:
            scores[index] = best[1]
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if ranked and ranked[0][1] >= SURE and (len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= MARGIN):
        return Match(candidates[ranked[0][0]][0])
    return Match(None, tuple(candidates[i][0] for i, score in ranked[:5] if score >= PLAUSIBLE))
