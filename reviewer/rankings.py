"""Ranking strings such as ``A>B=C>D``: parsing with ties, and pairwise agreement between rankings."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import combinations

from reviewer.errors import KnownError

LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Ranking:
    """A weak order over the responses A–D.

    Attributes:
        tiers: groups of tied letters, most preferred first, e.g. ``(("A",), ("B", "C"), ("D",))``.
    """

    tiers: tuple[tuple[str, ...], ...]

    def __str__(self) -> str:
        return ">".join("=".join(tier) for tier in self.tiers)

    def positions(self) -> dict[str, int]:
        """Return each letter's tier index (0 = most preferred)."""
        return {letter: i for i, tier in enumerate(self.tiers) for letter in tier}


def parse_ranking(text: str, letters: tuple[str, ...] = LETTERS) -> Ranking:
    """Parse a ranking string exactly; ties (``=``) are kept, spaces are ignored.

    Raises:
        KnownError: the string is not a permutation of ``letters`` (missing, repeated or unknown letters).
    """
    if not isinstance(text, str) or not text.strip():
        raise KnownError("empty ranking")
    compact = "".join(text.split())
    tiers = tuple(tuple(tier.split("=")) for tier in compact.split(">"))
    flat = [letter for tier in tiers for letter in tier]
    if any(letter == "" for letter in flat):
        raise KnownError(f"ranking {text!r} has an empty position")
    if sorted(flat) != sorted(letters) or len(set(flat)) != len(flat):
        raise KnownError(f"ranking {text!r} is not a permutation of {''.join(letters)}")
    return Ranking(tuple(tuple(tier) for tier in tiers))


@functools.lru_cache(maxsize=4096)
def ranking_or_none(text: str | None) -> Ranking | None:
    """Return the ranking ``text`` names, or None when it is empty or not a ranking of A–D.

    Stored crowd rankings are read leniently for display and counting (a bad one is left out);
    cached, as a crowd uses few distinct ranking strings (75 weak orders of four letters).
    """
    if not text:
        return None
    try:
        return parse_ranking(text)
    except KnownError:
        return None


def normalise(text: str) -> str:
    """Return the canonical form of a ranking string (no spaces, tied letters sorted)."""
    ranking = parse_ranking(text)
    return ">".join("=".join(sorted(tier)) for tier in ranking.tiers)


@dataclass(frozen=True)
class PairAgreement:
    """How two rankings agree over the pairs both order strictly.

    Attributes:
        agreeing: pairs ordered the same way by both.
        counted: pairs ordered strictly by both (ties in either are dropped).
    """

    agreeing: int
    counted: int

    @property
    def share(self) -> float | None:
        """Agreeing pairs over counted pairs, or None when no pair counts."""
        return self.agreeing / self.counted if self.counted else None


def pairwise_agreement(first: Ranking, second: Ranking) -> PairAgreement:
    """Compare two rankings pair by pair, ignoring any pair that either ties."""
    a, b = first.positions(), second.positions()
    agreeing = counted = 0
    for x, y in combinations(sorted(a), 2):
        da, db = a[x] - a[y], b[x] - b[y]
        if da == 0 or db == 0:
            continue
        counted += 1
        if (da < 0) == (db < 0):
            agreeing += 1
    return PairAgreement(agreeing, counted)
