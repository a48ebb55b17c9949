import pytest

from reviewer.errors import KnownError
from reviewer.rankings import normalise, pairwise_agreement, parse_ranking


def test_parse_with_ties_exactly():
    r = parse_ranking("A>B=C>D")
    assert r.tiers == (("A",), ("B", "C"), ("D",))
    assert str(r) == "A>B=C>D"
    assert r.positions() == {"A": 0, "B": 1, "C": 1, "D": 2}
    assert parse_ranking(" C = A > D > B ").tiers == (("C", "A"), ("D",), ("B",))
    assert normalise("C=A>D>B") == "A=C>D>B"


@pytest.mark.parametrize("bad", ["", "A>B>C", "A>B>C>D>E", "A>A>B>C", "A>>B>C>D", "A>B>C>X", "A=B=C=", "abcd"])
def test_not_a_permutation(bad):
    with pytest.raises(KnownError):
        parse_ranking(bad)


def test_pairwise_agreement_ignores_ties():
    same = pairwise_agreement(parse_ranking("A>B>C>D"), parse_ranking("A>B>C>D"))
    assert (same.agreeing, same.counted, same.share) == (6, 6, 1.0)
    reverse = pairwise_agreement(parse_ranking("A>B>C>D"), parse_ranking("D>C>B>A"))
    assert (reverse.agreeing, reverse.counted) == (0, 6)
    # A>B=C>D against B>A>C>D: pairs AB (disagree), AC (agree), AD (agree), BC (tie: dropped),
    # BD (agree), CD (agree) -> 4 of 5.
    mixed = pairwise_agreement(parse_ranking("A>B=C>D"), parse_ranking("B>A>C>D"))
    assert (mixed.agreeing, mixed.counted) == (4, 5)
    all_tied = pairwise_agreement(parse_ranking("A=B=C=D"), parse_ranking("A>B>C>D"))
    assert (all_tied.counted, all_tied.share) == (0, None)


def test_ranking_or_none_reads_stored_rankings_leniently():
    from reviewer.rankings import ranking_or_none

    assert ranking_or_none("B > A=C > D").tiers == (("B",), ("A", "C"), ("D",))
    for bad in (None, "", "A>B>C", "A>A>B>C", "E>A>B>C"):
        assert ranking_or_none(bad) is None
