"""Conversation detail and the review desk's evidence queries (pages, split, interval, language guess)."""

from __future__ import annotations

import json

import pytest

from reviewer.conversations import (
    conversation_detail,
    mean_positions,
    opening_words,
    unacceptable_letters,
)
from reviewer.errors import KnownError
from reviewer.evidence import (
    STANCES,
    UNLABELLED,
    demographic_fields,
    evidence_links,
    evidence_page,
    evidence_row,
    evidence_split,
    evidence_summary,
    guess_language,
    label_history,
    set_stance,
    wilson_interval,
)
from reviewer.ids import new_id, utc_now
from reviewer.rankings import parse_ranking
from reviewer.workspace import Workspace
from tests.datapaths import SPLIT_BY_COUNTRY


@pytest.fixture
def ws(demo_workspace):
    with Workspace.open(demo_workspace) as workspace:
        yield workspace


def _proposal(ws, proposal_id=SPLIT_BY_COUNTRY):
    """A demo proposal's id (by default the one the crowd splits on by country), checked to be stored."""
    return ws.store.db.execute("SELECT id FROM proposals WHERE id = ?", [proposal_id]).fetchone()[0]


def _a_justification(ws, block="world"):
    """A justification whose author gave both rankings, with its conversation and participant."""
    return ws.store.db.execute(
        "SELECT j.id, a.conversation_id, a.participant_id, a.personal_ranking, a.world_ranking, j.text"
        " FROM justifications j JOIN assessments a ON a.id = j.assessment_id"
        " WHERE j.block = ? AND a.personal_ranking IS NOT NULL ORDER BY j.id LIMIT 1",
        [block],
    ).fetchone()


# ---- conversation detail ------------------------------------------------------------------------


def test_conversation_detail_shows_the_participant_and_summarises_the_others(ws):
    jid, cid, pid, personal, world, text = _a_justification(ws)
    detail = conversation_detail(ws.store, cid, jid)
    assert detail.id == cid and detail.prompt and detail.prompt[0][0] == "user"
    assert sorted(detail.responses) == ["A", "B", "C", "D"]
    assert all(detail.responses[x] and detail.responses[x][0][1] for x in "ABCD")
    p = detail.participant
    assert p is not None and p.participant_id == pid and p.focus_id == jid
    assert (p.personal_ranking, p.world_ranking) == (personal, world)
    assert jid in [j.id for j in p.justifications] and text in [j.text for j in p.justifications]
    ranker = ws.store.db.execute("SELECT ranking FROM ranker_rankings WHERE conversation_id = ?", [cid]).fetchone()[0]
    assert detail.rankers[0].ranking == ranker
    # The others, counted independently of the code under test.
    others = ws.store.db.execute(
        "SELECT world_ranking, personal_ranking, unacceptable FROM assessments"
        " WHERE conversation_id = ? AND participant_id != ?",
        [cid, pid],
    ).fetchall()
    crowd = detail.crowd
    assert crowd.assessments == len(others)
    worlds = [w for w, _, _ in others if w]
    assert crowd.world_n == len(worlds)
    for tally in crowd.world:
        assert tally.first == sum(1 for w in worlds if tally.letter in w.split(">")[0])
        assert tally.unacceptable == sum(1 for _, _, u in others if f"{tally.letter} is unacceptable" in u)
    assert sum(n for _, n in crowd.world_top) == len(worlds)
    top = max(crowd.world_top, key=lambda kv: kv[1])
    assert top[1] == sum(1 for w in worlds if "=".join(sorted(w.split(">")[0].split("="))) == top[0])
    personals = [p for _, p, _ in others if p]
    assert crowd.personal_n == len(personals)
    a = crowd.personal[0]
    if personals:
        expected = sum(mean_positions(parse_ranking(x))["A"] for x in personals) / len(personals)
        assert a.mean_position == pytest.approx(expected)


def test_conversation_without_justification_summarises_everyone(ws):
    _, cid, _, _, _, _ = _a_justification(ws)
    detail = conversation_detail(ws.store, cid)
    total = ws.store.db.execute("SELECT count(*) FROM assessments WHERE conversation_id = ?", [cid]).fetchone()[0]
    assert detail.participant is None and detail.crowd.assessments == total


def test_conversation_detail_refuses_unknown_or_mismatched_ids(ws):
    jid, cid, *_ = _a_justification(ws)
    with pytest.raises(KnownError, match="No conversation"):
        conversation_detail(ws.store, "nope")
    with pytest.raises(KnownError, match="No justification"):
        conversation_detail(ws.store, cid, "nope")
    other = ws.store.db.execute("SELECT id FROM conversations WHERE id != ? LIMIT 1", [cid]).fetchone()[0]
    with pytest.raises(KnownError, match="not about"):
        conversation_detail(ws.store, other, jid)


def test_mean_positions_share_tied_places():
    assert mean_positions(parse_ranking("A>B=C>D")) == {"A": 1, "B": 2.5, "C": 2.5, "D": 4}
    assert mean_positions(parse_ranking("A=B=C=D")) == dict.fromkeys("ABCD", 2.5)


def test_unacceptable_letters_reads_both_shapes():
    assert unacceptable_letters('["A is unacceptable", "D is unacceptable"]') == ("A", "D")
    assert unacceptable_letters('[{"rating": ["C is unacceptable"], "rationale": "x"}]') == ("C",)
    assert unacceptable_letters("[]") == () and unacceptable_letters("not json") == ()


# ---- pages, rows and history --------------------------------------------------------------------


@pytest.mark.parametrize("stance", [*STANCES, UNLABELLED])
def test_pages_cover_exactly_the_links_of_each_stance(ws, stance):
    pid = _proposal(ws)
    expected = {link.justification_id for link in evidence_links(ws.store, pid, stance=stance)}
    seen, after = [], None
    while True:
        page = evidence_page(ws.store, pid, stance, after=after, limit=37)
        if not page:
            break
        seen += [r.justification_id for r in page]
        after = page[-1].key
    assert len(seen) == len(set(seen)) and set(seen) == expected
    if stance != UNLABELLED:
        assert len(seen) == evidence_summary(ws.store, pid).counts[stance]


def test_pages_follow_the_index(ws):
    plan = " ".join(
        r[3] for r in ws.store.db.execute(
            "EXPLAIN QUERY PLAN SELECT e.justification_id FROM evidence_current e"
            " WHERE e.proposal_id = ? AND e.stance = ? AND (e.source_kind, e.source_name, e.justification_id) > (?,?,?)"
            " ORDER BY e.source_kind, e.source_name, e.justification_id LIMIT 200",
            ["p", "supports", "a", "b", "c"],
        )
    )
    assert "evidence_current_counts" in plan and "TEMP B-TREE" not in plan


def test_row_carries_person_and_quote(ws):
    pid = _proposal(ws)
    row = evidence_page(ws.store, pid, "refutes", limit=1)[0]
    assert row.demographics.get("country_of_residence") and row.source_kind == "rule"
    assert row.language is None and row.quote is None
    assert row.shown_language() == (guess_language(row.text), guess_language(row.text) is not None)
    quote = row.text[: max(1, len(row.text) // 2)]
    ws.store.db.execute(
        "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
        " prompt_version, confidence, quote, detail, created_at)"
        " VALUES (?, ?, ?, 'refutes', 'model', 'judge-x', 'p1', 0.8, ?, '{}', ?)",
        [new_id(), pid, row.justification_id, quote, utc_now()],
    )
    labelled = evidence_row(ws.store, pid, row.justification_id)
    assert labelled.source_kind == "model" and labelled.quote == quote and labelled.quote_span() == (0, len(quote))
    # A person overrides the model: the model's quote is still shown, and its source named.
    set_stance(ws.store, pid, row.justification_id, "supports", "Amara Okafor")
    after = evidence_row(ws.store, pid, row.justification_id)
    assert after.stance == "supports" and after.source_kind == "person"
    assert after.quote == quote and after.quote_from == "model:judge-x"
    assert [x.source_kind for x in label_history(ws.store.db.conn, pid, row.justification_id)] == [
        "rule", "model", "person"]
    assert evidence_row(ws.store, pid, "not-linked") is None


# ---- split, fields, interval, language -----------------------------------------------------------


def test_split_by_country_matches_a_direct_count(ws):
    pid = _proposal(ws)
    split = {g.group: g for g in evidence_split(ws.store, pid, "country_of_residence")}
    direct = ws.store.db.execute(
        "SELECT p.demographics, e.stance FROM evidence_current e JOIN justifications j ON j.id = e.justification_id"
        " JOIN assessments a ON a.id = j.assessment_id JOIN participants p ON p.id = a.participant_id"
        " WHERE e.proposal_id = ?",
        [pid],
    ).fetchall()
    counted: dict[tuple[str, str], int] = {}
    for demographics, stance in direct:
        key = (json.loads(demographics)["country_of_residence"], stance)
        counted[key] = counted.get(key, 0) + 1
    assert {g for g, _ in counted} == set(split)
    for (group, stance), n in counted.items():
        assert getattr(split[group], stance) == n
    # Where groups disagree: the demo's proposal on erotica for adults splits by country.
    shares = [g.share for g in split.values() if g.decided >= 10]
    assert max(shares) - min(shares) > 0.5


def test_split_names_missing_values_unknown(ws):
    pid = _proposal(ws)
    groups = evidence_split(ws.store, pid, "no_such_field")
    assert [g.group for g in groups] == ["(unknown)"]
    assert sum(g.supports + g.refutes + g.no_comment + g.unlabelled for g in groups) == \
        evidence_summary(ws.store, pid).links


def test_demographic_fields_leave_out_free_text(ws):
    names = [f.name for f in demographic_fields(ws.store)]
    assert names[0] == "country_of_residence"
    assert {"age", "gender", "generative_ai_usage"} <= set(names)
    assert "ideal-model-behavior" not in names


def test_wilson_interval_known_values():
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("me gusta mas la A, es la mejor respuesta", "es"),
        ("Escolhi a A porque separa os fatos das opiniões", "pt"),
        ("A avant tout. B non : que des sentiments", "fr"),
        ("A ist am besten, sie sagt ehrlich, dass sie eine KI ist.", "de"),
        ("For me it's B, it is honest about the range", "en"),
        ("मेरे हिसाब से A सबसे सही है।", "hi"),
        ("理想の回答はA。面白くて、遊びだとわかる。", "ja"),
        ("la B", None),
        ("", None),
    ],
)
def test_guess_language(text, language):
    assert guess_language(text) == language


def test_split_uses_a_participant_column_when_links_carry_one(ws):
    pid = _proposal(ws)
    # Migration 0007 keeps the participant on each link (filled by a trigger as links appear).
    stored = ws.store.db.execute(
        "SELECT count(*) FROM evidence_current e JOIN justifications j ON j.id = e.justification_id"
        " JOIN assessments a ON a.id = j.assessment_id WHERE e.proposal_id = ? AND e.participant_id = a.participant_id",
        [pid],
    ).fetchone()[0]
    links = ws.store.db.execute("SELECT count(*) FROM evidence_current WHERE proposal_id = ?", [pid]).fetchone()[0]
    assert stored == links > 0
    split = {g.group: (g.supports, g.refutes) for g in evidence_split(ws.store, pid, "country_of_residence")}
    # The same counts the long way, through justification → assessment → participant.
    expected: dict[str, list[int]] = {}
    for country, stance in ws.store.db.execute(
        "SELECT json_extract(p.demographics, '$.country_of_residence'), e.stance FROM evidence_current e"
        " JOIN justifications j ON j.id = e.justification_id JOIN assessments a ON a.id = j.assessment_id"
        " JOIN participants p ON p.id = a.participant_id WHERE e.proposal_id = ?", [pid],
    ):
        pair = expected.setdefault(country, [0, 0])
        pair[0] += stance == "supports"
        pair[1] += stance == "refutes"
    assert {k: tuple(v) for k, v in expected.items() if k} == {k: v for k, v in split.items() if k != "(unknown)"}


def test_a_conversation_is_headed_by_its_prompts_opening_words(ws):
    _, cid, *_ = _a_justification(ws)
    detail = conversation_detail(ws.store, cid)
    prompt = detail.prompt[0][1]
    assert detail.heading.startswith("“") and detail.heading.endswith("”")
    assert detail.heading[1:-1].rstrip("…") in " ".join(prompt.split())
    assert len(detail.heading) <= 82
    assert detail.provenance == f"prompt {detail.prompt_id} · ca1"


def test_opening_words_read_the_first_user_message_on_one_line():
    assert opening_words([("system", "Be terse."), ("user", "# Help\n\n> please  write\n- a poem")]) == (
        "Help please write a poem")
    assert opening_words([("system", "Only a system message")]) == "Only a system message"
    assert opening_words([("user", "   ")]) == ""
    long = "word " * 40
    cut = opening_words([("user", long)], limit=30)
    assert cut.endswith("…") and len(cut) <= 30 and cut[:-1] == " ".join(["word"] * ((len(cut) - 1) // 5 + 1))
