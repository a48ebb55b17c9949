"""Evidence triage: search, filters by country, language, source and group, and the most divisive order."""

import json

import pytest

from reviewer import operations, triage
from reviewer.errors import KnownError
from reviewer.ids import stable_id
from reviewer.proposals import add_proposal
from reviewer.store import open_read_only
from reviewer.triage import (
    EvidenceFilter,
    demographic_group,
    divisive_key,
    filter_choices,
    split,
    triage_counts,
    triage_evidence,
    triage_page,
)
from reviewer.workspace import Workspace
from tests.reviewer.test_evidence import NEW_HONEST, NOW, add_conversation, make_spec_repo

PEOPLE = {
    "u1": {"country_of_residence": "Spain", "age": "18-24"},
    "u2": {"country_of_residence": "Kenya", "age": "25-34"},
    "u3": {"country_of_residence": "Spain", "age": "25-34"},
    "u4": {"country_of_residence": "Japan", "age": "18-24"},
}
# (prompt, annotator, text, stored language)
TEXTS = [
    ("p1", "u1", "Prefiero la respuesta A porque es más honesta y no me gusta la otra.", None),
    ("p1", "u2", "A is honest about its limits, which I value.", "en"),
    ("p1", "u3", "B hides the uncertainty; I want calibrated answers.", "en"),
    ("p2", "u1", "La respuesta B es mejor para mí.", "es"),
    ("p2", "u2", "B because it is brief.", "en"),
    ("p2", "u3", "A because it admits doubt.", "en"),
    ("p2", "u4", "Honest answers matter most to me.", "en"),
    ("p3", "u4", "Calibrated confidence is the whole point.", "en"),
]
# Effective stances set by a person: p1 2 for / 1 against, p2 2 / 2, p3 1 / 0.
STANCES = {
    ("p1", "u1"): "supports", ("p1", "u2"): "supports", ("p1", "u3"): "refutes",
    ("p2", "u1"): "supports", ("p2", "u2"): "refutes", ("p2", "u3"): "supports", ("p2", "u4"): "refutes",
    ("p3", "u4"): "supports",
}


def jid(prompt_id, annotator):
    return stable_id("ca1", "justification", prompt_id, annotator, "world", "0")


@pytest.fixture
def triaged(tmp_path):
    """A workspace with one proposal over three conversations and a Pol.is statement linked by hand."""
    ws = Workspace.create(tmp_path / "ws", spec_repo=make_spec_repo(tmp_path / "spec"))
    s = ws.store
    with s.db.atomic():
        for annotator, demographics in PEOPLE.items():
            s.db.execute("INSERT INTO participants (id, source, source_id, demographics, created_at)"
                         " VALUES (?, 'ca1', ?, ?, ?)",
                         [stable_id("ca1", "participant", annotator), annotator, json.dumps(demographics), NOW])
        for prompt_id, annotator, text, language in TEXTS:
            cid = add_conversation(s, prompt_id)
            aid = stable_id("ca1", "assessment", prompt_id, annotator)
            s.db.execute("INSERT INTO assessments (id, conversation_id, participant_id, created_at) VALUES (?, ?, ?, ?)",
                         [aid, cid, stable_id("ca1", "participant", annotator), NOW])
            s.db.execute("INSERT INTO justifications (id, assessment_id, block, position, text, language, created_at)"
                         " VALUES (?, ?, 'world', 0, ?, ?, ?)", [jid(prompt_id, annotator), aid, text, language, NOW])
        statement = stable_id("polis", "k", "statement", "7")
        s.db.execute("INSERT INTO justifications (id, assessment_id, block, position, text, created_at)"
                     " VALUES (?, NULL, 'statement', 7, 'Models should say how sure they are.', ?)", [statement, NOW])
        s.db.execute("INSERT INTO polis_statements (justification_id, conversation_key, comment_id, agrees, disagrees)"
                     " VALUES (?, 'k', '7', 6, 6)", [statement])
    proposal = add_proposal(
        ws, changes=[("be_honest", NEW_HONEST)], title="Say how sure", intent="Calibrated honesty.",
        kind="clarification", created_by="Ana",
        linked_conversations=[stable_id("ca1", "conversation", p) for p in ("p1", "p2", "p3")],
    )
    operations.link(ws, proposal.id, statement, actor="Ana")
    for (prompt_id, annotator), stance in STANCES.items():
        operations.set_stance(ws, proposal.id, jid(prompt_id, annotator), stance, actor="Ana")
    operations.set_stance(ws, proposal.id, statement, "supports", actor="Ana")
    yield ws, proposal.id, statement
    ws.close()


def ids(rows):
    return [r.justification_id for r in rows]


def test_split_is_one_for_half_and_half_and_zero_when_one_sided():
    assert split(2, 2) == 1.0
    assert split(2, 1) == pytest.approx(2 / 3)
    assert split(3, 0) == 0.0
    assert split(0, 0) == 0.0


def test_most_divisive_first_by_the_crowd_split_of_the_conversation_or_the_statement_votes(triaged):
    ws, pid, statement = triaged
    filt = EvidenceFilter(sort="divisive")
    supports = triage_page(ws.store, pid, "supports", filt)
    # The statement's votes split 6/6 (1.0, 12 votes), p2 2/2 (1.0, 4 links), p1 2/1 (0.67), p3 1/0 (0).
    assert ids(supports) == [statement, *sorted([jid("p2", "u1"), jid("p2", "u3")]),
                             *sorted([jid("p1", "u1"), jid("p1", "u2")]), jid("p3", "u4")]
    assert supports[0].key == divisive_key(1.0, 12, statement)
    assert supports[-1].key == divisive_key(0.0, 1, jid("p3", "u4"))
    refutes = triage_page(ws.store, pid, "refutes", filt)
    assert ids(refutes) == [*sorted([jid("p2", "u2"), jid("p2", "u4")]), jid("p1", "u3")]


def test_pages_continue_after_the_last_key_in_the_filter_order(triaged):
    ws, pid, _statement = triaged
    filt = EvidenceFilter(sort="divisive")
    whole = triage_page(ws.store, pid, "supports", filt)
    first = triage_page(ws.store, pid, "supports", filt, limit=2)
    rest = triage_page(ws.store, pid, "supports", filt, after=first[-1].key, limit=10)
    assert ids(first + rest) == ids(whole)


def test_filters_by_country_language_source_and_group(triaged):
    ws, pid, statement = triaged
    spain = triage_counts(ws.store, pid, EvidenceFilter(country="Spain"))
    assert spain.counts == {"supports": 3, "refutes": 1, "no_comment": 0, "unlabelled": 0}
    assert spain.total == 9
    # The Spanish text without a stored language counts by its guess; the stored "es" by the store.
    spanish = triage_page(ws.store, pid, "supports", EvidenceFilter(language="es"))
    assert ids(spanish) == sorted([jid("p1", "u1"), jid("p2", "u1")])
    young = triage_counts(ws.store, pid, EvidenceFilter(group=demographic_group("age", "18-24").id))
    assert young.shown == 4  # u1 on p1 and p2, u4 on p2 and p3
    assert triage_counts(ws.store, pid, EvidenceFilter(source="rule")).shown == 0
    assert triage_counts(ws.store, pid, EvidenceFilter(source="person")).shown == 9
    unknown = triage_page(ws.store, pid, "supports", EvidenceFilter(group="demographic:age=(unknown)"))
    assert ids(unknown) == [statement]  # the statement's author is not known


def test_search_finds_words_in_the_proposals_justifications_only(triaged):
    ws, pid, statement = triaged
    result = triage_evidence(ws, pid, EvidenceFilter(search="honest"))
    # "honest" as a prefix: honest, Honest; "honesta" too (the last word typed is the start of one).
    assert result.counts.shown == 3
    assert set(ids(result.rows["supports"])) == {jid("p1", "u1"), jid("p1", "u2")}
    assert ids(result.rows["refutes"]) == [jid("p2", "u4")]
    phrase = triage_evidence(ws, pid, EvidenceFilter(search='"how sure"', sort="divisive"))
    assert ids(phrase.rows["supports"]) == [statement]
    combined = triage_evidence(ws, pid, EvidenceFilter(search="honest", country="Kenya"))
    assert ids(combined.rows["supports"]) == [jid("p1", "u2")]


def test_a_search_past_the_limit_keeps_the_links_among_the_first_matches_and_says_its_counts_are_floors(
        triaged, monkeypatch):
    ws, pid, _statement = triaged
    whole = triage_evidence(ws, pid, EvidenceFilter(search="honest"))
    assert not whole.counts.capped and whole.counts.note() == ""
    # Three justifications of the crowd hold "honest…", in the order imported: p1/u1, p1/u2, p2/u4.
    monkeypatch.setattr(triage, "SEARCH_LIMIT", 2)
    monkeypatch.setattr(triage, "OWN_LINKS_LIMIT", 0)  # a proposal with more links than are looked up one by one
    capped = triage_evidence(ws, pid, EvidenceFilter(search="honest"))
    assert capped.counts.capped and capped.counts.shown == 2 < whole.counts.shown
    assert set(ids(capped.rows["supports"])) == {jid("p1", "u1"), jid("p1", "u2")} and not capped.rows["refutes"]
    assert "More than 2 justifications" in capped.counts.note() and "floor" in capped.counts.note()
    monkeypatch.setattr(triage, "SEARCH_LIMIT", 3)
    assert not triage_evidence(ws, pid, EvidenceFilter(search="honest")).counts.capped


def test_a_search_past_the_limit_on_a_proposal_with_few_links_looks_among_its_links_and_is_whole(
        triaged, monkeypatch):
    ws, pid, _statement = triaged
    whole = triage_evidence(ws, pid, EvidenceFilter(search="honest"))
    combined = triage_evidence(ws, pid, EvidenceFilter(search="honest", country="Kenya"))
    monkeypatch.setattr(triage, "SEARCH_LIMIT", 1)  # the crowd's matches are past it; the proposal's links are not
    assert triage.OWN_LINKS_LIMIT >= 10
    found = triage_evidence(ws, pid, EvidenceFilter(search="honest"))
    assert not found.counts.capped and found.counts.note() == ""
    assert found.counts == whole.counts and {s: ids(r) for s, r in found.rows.items()} == {
        s: ids(r) for s, r in whole.rows.items()}
    again = triage_evidence(ws, pid, EvidenceFilter(search="honest", country="Kenya"))
    assert ids(again.rows["supports"]) == ids(combined.rows["supports"]) == [jid("p1", "u2")]


def test_a_changed_stance_is_seen_by_the_next_read(triaged):
    ws, pid, _statement = triaged
    filt = EvidenceFilter(country="Japan")
    assert triage_counts(ws.store, pid, filt).counts["refutes"] == 1
    operations.set_stance(ws, pid, jid("p2", "u4"), "supports", actor="Ana")
    assert triage_counts(ws.store, pid, filt).counts["refutes"] == 0


def test_filter_choices_count_the_links(triaged):
    ws, pid, _statement = triaged
    choices = filter_choices(ws.store, pid)
    assert choices.countries == (("Spain", 4), ("Japan", 2), ("Kenya", 2))
    assert dict(choices.languages)["es"] == 2
    assert choices.sources == (("person", 9),)
    assert filter_choices(ws.store, pid) is choices  # read once while nothing changes
    # A change made through the store is seen by the next read, on the store's connection and on another.
    operations.set_stance(ws, pid, jid("p2", "u4"), "no_comment", actor="Ana")
    again = filter_choices(ws.store, pid)
    assert again is not choices and again.sources == (("person", 9),)
    reader = open_read_only(ws.root / "reviewer.db")
    try:
        before = filter_choices(reader, pid)
        ws.store.db.execute("UPDATE participants SET demographics = '{}' WHERE source_id = 'u4'")
        ws.store.db.conn.commit()
        assert dict(filter_choices(reader, pid).countries).get("Japan") is None
        assert before.countries != filter_choices(reader, pid).countries
    finally:
        reader.close()


@pytest.mark.parametrize("bad", [EvidenceFilter(source="crowd"), EvidenceFilter(sort="loudest"),
                                 EvidenceFilter(group="opinion-ish"), EvidenceFilter(group="demographic:age")])
def test_bad_filters_are_refused_clearly(triaged, bad):
    ws, pid, _statement = triaged
    with pytest.raises(KnownError):
        triage_counts(ws.store, pid, bad)


def test_a_search_needs_the_index(triaged):
    ws, pid, _statement = triaged
    with pytest.raises(KnownError, match="search index"):
        triage_counts(ws.store, pid, EvidenceFilter(search="honest"))


def test_a_demographic_group_of_numbers_is_found_by_the_name_the_split_gives_it(triaged):
    from reviewer.evidence import evidence_split

    ws, pid, _statement = triaged
    with ws.store.db.atomic():  # a field whose values are JSON numbers and booleans, not text
        for annotator, years, consent in (("u1", 34, True), ("u2", 51, False), ("u3", 34, True), ("u4", 51.5, True)):
            ws.store.db.execute(
                "UPDATE participants SET demographics = json_set(demographics, '$.years', ?, '$.consent', json(?))"
                " WHERE source_id = ?", [years, "true" if consent else "false", annotator])
    names = {g.group for g in evidence_split(ws.store, pid, "years")}
    assert {"34", "51", "51.5"} <= names
    found = triage_evidence(ws, pid, EvidenceFilter(group="demographic:years=34"))
    links = {r.justification_id for rows in found.rows.values() for r in rows}
    assert links == {jid(p, a) for p, a, _t, _l in TEXTS if a in ("u1", "u3")}
    decimal = triage_evidence(ws, pid, EvidenceFilter(group="demographic:years=51.5"))
    assert {r.justification_id for rows in decimal.rows.values() for r in rows} == {jid("p2", "u4"), jid("p3", "u4")}
    assert {"1", "0"} <= {g.group for g in evidence_split(ws.store, pid, "consent")}  # true and false
    yes = triage_evidence(ws, pid, EvidenceFilter(group="demographic:consent=1"))
    assert yes.counts.shown == 6  # u1, u3 and u4's links
