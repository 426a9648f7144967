"""Handlers layer: finding what a user meant from what they typed.

One matcher for every name a person types: models (`best_match`, through
`handlers.pickers.match_model`), units, and people (`handlers.pickers.picked_person`).
Names compare without case or accents, so "tomas" is "Tomás" and "DIAZ" is "Díaz".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process, utils

T = TypeVar("T")
SURE = 85
PLAUSIBLE = 50
MARGIN = 10
# A typo such as "chrun" scores below SURE, but it is clear when nothing else comes close.
LIKELY = 75
CLEAR_MARGIN = 20
# Suggestions are the names that come near the best one: far behind it, they are noise.
NEAR = 20


def fold(text: str) -> str:
    """Return text as names are compared: without accents or case, with single spaces ('Tomás  Silva' → 'tomas silva')."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _process(text: str) -> str:
    return utils.default_process(fold(text))


def _score(query: str, name: str, **_: object) -> float:
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


def best_match(query: str, candidates: Sequence[tuple[T, Sequence[str]]], plausible: float = PLAUSIBLE) -> Match[T]:
    """Find the candidate a query names; each candidate comes with the names it answers to.

    An exact name (any case or accents) wins. Otherwise a single clear fuzzy winner is
    taken: a sure score well ahead of the next ("churn" finds "Churn predictor"), or a
    likely one far ahead of it (the typo "chrun"). Anything less certain becomes
    suggestions: those scoring `plausible` or more and within `NEAR` of the best.
    """
    needle = fold(query)
    for item, names in candidates:
        if any(needle == fold(name) for name in names):
            return Match(item)
    scores: dict[int, float] = {}
    for index, (_, names) in enumerate(candidates):
        best = process.extractOne(needle, names, scorer=_score, processor=_process)
        if best:
            scores[index] = best[1]
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if ranked:
        top, lead = ranked[0][1], ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0)
        if (top >= SURE and lead >= MARGIN) or (top >= LIKELY and lead >= CLEAR_MARGIN):
            return Match(candidates[ranked[0][0]][0])
    floor = max(plausible, ranked[0][1] - NEAR) if ranked else plausible
    return Match(None, tuple(candidates[i][0] for i, score in ranked[:5] if score >= floor))
