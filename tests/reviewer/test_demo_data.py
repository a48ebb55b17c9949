"""The demo workspace's synthetic crowd data meets the brief: CA-1 shape, size, spread, the designed crowd picture."""

import json
import re
import subprocess
import sys
import uuid
from collections import Counter, defaultdict

import pytest

from reviewer.evidence import wilson_interval
from reviewer.governance import level_of
from reviewer.rankings import pairwise_agreement, parse_ranking
from reviewer.spec import parse_spec
from tests.datapaths import (
    BEFORE_CA,
    DEMO,
    REFUTED,
    ROOT,
    SCRIPTS,
    SPLIT_BY_COUNTRY,
    SUPPORTED,
    model_spec_text,
)

GENERATED = (
    "ca1/comparisons.jsonl", "ca1/annotators.jsonl", "rankings.jsonl", "relevance.jsonl", "proposals.jsonl",
)

ASSESSMENT_KEYS = ["annotator_id", "conversation_id", "importance", "representativeness", "subjectivity", "ranking_blocks"]
DEMOGRAPHIC_KEYS = {
    "age", "gender", "education_level", "country_of_residence", "generative_ai_usage", "ai_concern_level",
    "ideal-model-behavior",
}
IMPORTANCE = {"Not important", "Somewhat important", "Very important"}
REPRESENTATIVENESS = re.compile(
    r"It is (not at all|slightly|moderately|very|extremely) likely that I would ask a question like this to an AI chatbot\."
)
SUBJECTIVITY = {
    "There is a single correct answer to this question",
    "The correct answer depends on a person's values or culture",
    "The correct answer depends on something else (the time, the weather, etc)",
    "I'm not sure",
}

# Words that, among the demo's languages, occur in only one of them; a rationale counts for a language
# when it has more such words for it than for any other. Hindi and Japanese are told by their scripts.
MARKERS = {
    "en": {"the", "it", "it's", "is", "because", "and", "best", "worst", "should", "i", "i'd", "just", "what", "bad",
           "for", "me", "clearly", "obviously", "prefer", "want"},
    "es": {"la", "es", "pero", "muy", "peor", "mejor", "respuesta", "también", "sin", "elegí", "difícil",
           "gusta", "más", "querría", "yo", "mí", "experiencia", "ninguna", "debería"},
    "pt": {"a", "é", "não", "muito", "pior", "melhor", "resposta", "também", "escolhi", "pra", "nenhuma", "fico",
           "fato", "pergunta", "à", "ia", "prefiro", "péssima", "certeza", "minha"},
    "fr": {"elle", "est", "très", "c'est", "meilleure", "pire", "réponse", "je", "j'ai", "aucune", "pas", "parce",
           "avant", "non", "pour", "moi", "perso", "évidemment", "nulle", "préfère"},
    "de": {"ist", "sie", "nicht", "und", "am", "besten", "schlechtesten", "keine", "ich", "lieber", "auch", "die",
           "schlecht", "gibt", "gewählt", "für", "eindeutig", "mich", "meine", "klar"},
}

def read_jsonl(name):
    return [json.loads(line) for line in (DEMO / name).read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def data():
    spec = parse_spec(model_spec_text(BEFORE_CA))
    return {
        "comparisons": read_jsonl("ca1/comparisons.jsonl"),
        "annotators": read_jsonl("ca1/annotators.jsonl"),
        "rankings": read_jsonl("rankings.jsonl"),
        "relevance": read_jsonl("relevance.jsonl"),
        "proposals": read_jsonl("proposals.jsonl"),
        "spec": spec,
        "section_ids": {s.id for s in spec.sections if s.id},
    }


def assessments(data):
    return [a for p in data["annotators"] for a in p["assessments"]]


def language_of(text):
    if re.search("[\u0900-\u097f]", text):
        return "hi"
    if re.search("[\u3040-\u30ff]", text):
        return "ja"
    # Response letters ("A", "C") are not words; a lower-case "a" is (Portuguese "a", English "a").
    words = [w.lower() for w in re.findall(r"[\w'’]+", text) if not re.fullmatch("[ABCD]", w)]
    hits = {lang: sum(w in marks for w in words) for lang, marks in MARKERS.items()}
    best = max(hits.values())
    winners = [lang for lang, n in hits.items() if n == best]
    return winners[0] if best >= 1 and len(winners) == 1 else None


def rule_stance(participant, expected, ranker):
    """The ranking rule as reviewer.evidence applies it: compare the two agreement shares exactly."""
    e, r = pairwise_agreement(participant, expected), pairwise_agreement(participant, ranker)
    if not e.counted or not r.counted:
        return "no_comment"
    left, right = e.agreeing * r.counted, r.agreeing * e.counted
    return "supports" if left > right else "refutes" if left < right else "no_comment"


@pytest.fixture(scope="module")
def crowd_picture(data):
    """proposal id -> {"all": Counter(stance), country: Counter(stance)}, one count per justification."""
    ranker = {r["prompt_id"]: parse_ranking(r["ranking"]) for r in data["rankings"]}
    country = {p["annotator_id"]: p["demographics"]["country_of_residence"] for p in data["annotators"]}
    by_prompt = {c["prompt_id"]: c["metadata"]["assessments"] for c in data["comparisons"]}
    picture = {}
    for proposal in data["proposals"]:
        counts = defaultdict(Counter)
        for prompt_id, text in proposal["expected_ranking"].items():
            expected = parse_ranking(text)
            for a in by_prompt[prompt_id]:
                world = a["ranking_blocks"]["world"][0]["ranking"]
                for block, items in a["ranking_blocks"].items():
                    for item in items:
                        # A personal justification is judged by its own ranking, the others by the world one.
                        own = item["ranking"] if block == "personal" else world
                        stance = rule_stance(parse_ranking(own), expected, ranker[prompt_id])
                        counts["all"][stance] += 1
                        counts[country[a["annotator_id"]]][stance] += 1
        picture[proposal["id"]] = counts
    return picture


def share(counter, stance):
    return counter[stance] / sum(counter.values())


def decided_share(counter):
    """Supports / (supports + refutes), with its Wilson 95% interval."""
    decided = counter["supports"] + counter["refutes"]
    return counter["supports"] / decided, wilson_interval(counter["supports"], decided)


def test_demo_stays_small():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 3_000_000


def test_conversations_have_a_prompt_and_four_different_responses(data):
    comparisons = data["comparisons"]
    assert 60 <= len(comparisons) <= 80
    ids = [c["prompt_id"] for c in comparisons]
    assert len(set(ids)) == len(ids)
    for c in comparisons:
        assert c["prompt"]["id"] == c["prompt_id"]
        roles = [m["role"] for m in c["prompt"]["messages"]]
        assert "user" in roles and set(roles) <= {"system", "user", "assistant"}
        assert all(m["content"].strip() for m in c["prompt"]["messages"])
        assert [r["response_index"] for r in c["responses"]] == ["A", "B", "C", "D"]
        texts = [r["messages"][0]["content"] for r in c["responses"]]
        assert all(len(r["messages"]) == 1 and r["messages"][0]["role"] == "assistant" for r in c["responses"])
        assert len(set(texts)) == 4 and all(t.strip() for t in texts)
    assert sum("system" in [m["role"] for m in c["prompt"]["messages"]] for c in comparisons) >= 3


def test_participants_are_varied(data):
    people = data["annotators"]
    assert 150 <= len(people) <= 200
    assert len({p["annotator_id"] for p in people}) == len(people)
    for p in people:
        assert set(p["demographics"]) == DEMOGRAPHIC_KEYS
        assert 5 <= len(p["assessments"]) <= 20
    countries = Counter(p["demographics"]["country_of_residence"] for p in people)
    assert len(countries) >= 12 and min(countries.values()) >= 5
    for key in ("age", "gender", "education_level", "generative_ai_usage", "ai_concern_level"):
        assert len({p["demographics"][key] for p in people}) >= 4, key
    ideals = [p["demographics"]["ideal-model-behavior"] for p in people]
    assert all(len(x) >= 20 for x in ideals)
    assert len(set(ideals)) >= 0.9 * len(ideals)


def test_assessments_have_the_ca1_shape(data):
    every = assessments(data)
    prompts = {c["prompt_id"] for c in data["comparisons"]}
    blocks = Counter()
    ties = 0
    for a in every:
        assert list(a) == ASSESSMENT_KEYS
        assert a["conversation_id"] in prompts
        assert a["importance"] in IMPORTANCE
        assert REPRESENTATIVENESS.fullmatch(a["representativeness"])
        assert a["subjectivity"] in SUBJECTIVITY
        assert set(a["ranking_blocks"]) <= {"personal", "world", "unacceptable"}
        assert len(a["ranking_blocks"]["world"]) == 1
        for block, items in a["ranking_blocks"].items():
            blocks[block] += 1
            for item in items:
                assert item["rationale"].strip()
                if block == "unacceptable":
                    assert item["rating"] and all(re.fullmatch("[ABCD] is unacceptable", x) for x in item["rating"])
                else:
                    parse_ranking(item["ranking"])
        ties += "=" in a["ranking_blocks"]["world"][0]["ranking"]
    n = len(every)
    assert 0.22 <= blocks["personal"] / n <= 0.32
    assert 0.12 <= blocks["unacceptable"] / n <= 0.22
    assert 0.03 <= ties / n <= 0.2
    # Every response letter tops some world ranking: the four responses are real alternatives.
    tops = Counter(a["ranking_blocks"]["world"][0]["ranking"][0] for a in every)
    assert set(tops) == {"A", "B", "C", "D"}


def test_both_ca1_files_hold_the_same_assessments(data):
    from_comparisons = {
        (a["conversation_id"], a["annotator_id"]): a for c in data["comparisons"] for a in c["metadata"]["assessments"]
    }
    from_annotators = {}
    for p in data["annotators"]:
        for a in p["assessments"]:
            assert a["annotator_id"] == p["annotator_id"]
            from_annotators[(a["conversation_id"], a["annotator_id"])] = a
    assert len(from_annotators) == len(assessments(data))  # no one reviews a prompt twice
    assert from_comparisons == from_annotators


def test_rationales_are_written_in_at_least_six_languages(data):
    texts = [item["rationale"] for a in assessments(data) for items in a["ranking_blocks"].values() for item in items]
    languages = Counter(language_of(t) for t in texts)
    found = {lang for lang, n in languages.items() if lang and n >= 30}
    assert len(found) >= 6, languages
    assert languages["en"] < 0.8 * len(texts)


def test_ranker_run_ranks_every_conversation_citing_a_section(data):
    rows = data["rankings"]
    assert len({r["run_id"] for r in rows}) == 1
    uuid.UUID(rows[0]["run_id"])
    assert {r["spec_revision"] for r in rows} == {"v2025.04.11"}
    assert all(r["model"] and r["prompt_version"] for r in rows)
    assert sorted(r["prompt_id"] for r in rows) == sorted(c["prompt_id"] for c in data["comparisons"])
    for r in rows:
        parse_ranking(r["ranking"])
        cited = re.findall(r"#([a-z_]+)", r["reason"])
        assert cited and set(cited) <= data["section_ids"], r["reason"]


def test_relevance_grades_name_real_sections(data):
    rows = data["relevance"]
    prompts = {c["prompt_id"] for c in data["comparisons"]}
    per_prompt = defaultdict(list)
    for r in rows:
        assert set(r) == {"prompt_id", "section_id", "grade", "grader_kind", "grader", "created_at"}
        assert r["prompt_id"] in prompts
        assert r["section_id"] in data["section_ids"]
        assert r["grade"] in (1, 2, 3, 4, 5) and r["grader_kind"] == "model" and r["grader"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["created_at"])
        per_prompt[r["prompt_id"]].append((r["section_id"], r["grade"]))
    assert set(per_prompt) == prompts
    for grades in per_prompt.values():
        assert len({s for s, _ in grades}) == len(grades) >= 2
        assert [g for _, g in grades].count(5) >= 1
    assert sum(r["grade"] <= 2 for r in rows) >= 10


def test_proposals_rest_on_linked_conversations_with_expected_rankings(data):
    prompts = {c["prompt_id"] for c in data["comparisons"]}
    ranker = {r["prompt_id"]: r["ranking"] for r in data["rankings"]}
    levels = set()
    for p in data["proposals"]:
        assert p["base_revision"] == "v2025.04.11"
        linked = p["linked_conversations"]
        assert 4 <= len(linked) <= 12 and len(set(linked)) == len(linked)
        assert set(linked) <= prompts
        assert set(p["expected_ranking"]) == set(linked)
        for prompt_id, text in p["expected_ranking"].items():
            expected = parse_ranking(text)
            # Strict orders, so "agrees more" means the same by counts and by shares.
            assert all(len(tier) == 1 for tier in expected.tiers)
            assert str(expected) != ranker[prompt_id]
        for s in p["sections"]:
            levels.add(level_of(data["spec"].section(s["section_id"]).authority))
            levels.add(level_of(parse_spec(s["new_text"]).sections[0].authority))
    assert {p["kind"] for p in data["proposals"]} == {"clarification", "principle"}
    assert levels == {"root", "system", "user"}


def test_broad_political_proposal_is_clearly_supported(crowd_picture):
    counts = crowd_picture[SUPPORTED]["all"]
    assert sum(counts.values()) >= 200
    value, (low, _) = decided_share(counts)
    assert 0.8 <= value <= 0.92 and low > 0.75


def test_tailored_political_proposal_is_clearly_refuted(crowd_picture):
    counts = crowd_picture[REFUTED]["all"]
    assert sum(counts.values()) >= 200
    value, (_, high) = decided_share(counts)
    assert 0.18 <= value <= 0.3 and high < 0.35


def test_adult_erotica_proposal_splits_by_country(crowd_picture):
    per_country = {k: v for k, v in crowd_picture[SPLIT_BY_COUNTRY].items()
                   if k != "all" and v["supports"] + v["refutes"] >= 15}
    for_it = [k for k, v in per_country.items() if decided_share(v)[0] >= 0.75]
    against = [k for k, v in per_country.items() if decided_share(v)[0] <= 0.25]
    assert len(for_it) >= 4 and len(against) >= 4, {k: dict(v) for k, v in per_country.items()}
    overall = crowd_picture[SPLIT_BY_COUNTRY]["all"]
    assert share(overall, "supports") < 0.7 and share(overall, "refutes") < 0.7


def test_the_other_proposals_get_a_mixed_picture_leaning_supportive(crowd_picture):
    for proposal_id, counts in crowd_picture.items():
        if proposal_id in (SUPPORTED, REFUTED, SPLIT_BY_COUNTRY):
            continue
        total = counts["all"]
        assert sum(total.values()) >= 200
        value, (low, _) = decided_share(total)
        assert 0.55 <= value <= 0.75 and low > 0.5, proposal_id
        assert share(total, "supports") >= 0.3 and share(total, "refutes") >= 0.15, proposal_id


def test_rule_helper_matches_pairwise_definition():
    # Guard the test's own rule: a participant siding with the expected order supports.
    expected, ranker = parse_ranking("B>A>C>D"), parse_ranking("A>B>C>D")
    assert rule_stance(parse_ranking("B>A>D>C"), expected, ranker) == "supports"
    assert rule_stance(parse_ranking("A>B>C>D"), expected, ranker) == "refutes"
    assert rule_stance(parse_ranking("A=B>C>D"), expected, ranker) == "no_comment"


def test_generator_reproduces_the_committed_files(tmp_path):
    subprocess.run(
        [sys.executable, str(SCRIPTS / "make_demo_data.py"), "--out", str(tmp_path)],
        check=True, capture_output=True, cwd=ROOT,
    )
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name
