import json
import random
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from cli.main import main
from reviewer.agreement import (
    analyse,
    cohen_kappa,
    compute_agreement,
    effective_grades,
    label_trust,
    load_agreement_data,
)
from reviewer.charts import agreement_svg
from reviewer.errors import KnownError
from reviewer.ids import stable_id
from reviewer.rankings import pairwise_agreement, parse_ranking
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.helpers import spec_repo_with
from tests.reviewer.test_judges import (
    SPEC,
    add_assessment,
    add_conversation,
    add_justification,
    add_proposal,
)

RANKER = {"c1": "A>B>C>D", "c2": "A>B=C>D", "c3": "D>C>B>A"}
# (prompt, annotator) -> world ranking. Hand count against the ranker, pair by pair (AB AC AD BC BD CD):
#   c1 u1 A>B>C>D: 6 counted, 6 agree       c1 u2 B>A>C>D: 6 counted, 5 agree (AB disagrees)
#   c2 u1 A=B>C>D: AB (u1 tie) and BC (ranker tie) dropped: 4 counted, 4 agree
#   c2 u2 D>C>B>A: BC dropped (ranker tie): 5 counted, 0 agree
#   c3 u1 D>C>B>A: 6 counted, 6 agree       c3 u2 A>B>C>D: 6 counted, 0 agree
# Per conversation: c1 11/12, c2 4/9, c3 6/12. Overall 21/33. u1 (FR) 16/16, u2 (US) 5/17.
WORLD = {("c1", "u1"): "A>B>C>D", ("c1", "u2"): "B>A>C>D", ("c2", "u1"): "A=B>C>D",
         ("c2", "u2"): "D>C>B>A", ("c3", "u1"): "D>C>B>A", ("c3", "u2"): "A>B>C>D"}
COUNTRY = {"u1": "FR", "u2": "US"}
RUN = "22222222-2222-4222-8222-222222222222"


def cid(prompt_id):
    return stable_id("ca1", "conversation", prompt_id)


def add_run(store, run_id, rankings, created_at="2026-01-01T00:00:00.000000Z", model="ranker-model"):
    store.db.execute("INSERT INTO ranker_runs (id, spec_revision, model, prompt_version, source, created_at)"
                     " VALUES (?, 'rev1', ?, 'ranker-v1', 'test', ?)", [run_id, model, created_at])
    for prompt_id, ranking in rankings.items():
        store.db.execute("INSERT INTO ranker_rankings (id, run_id, conversation_id, ranking) VALUES (?, ?, ?, ?)",
                         [stable_id("r", run_id, prompt_id), run_id, cid(prompt_id), ranking])


def grade(store, prompt_id, section, value, kind, at):
    store.db.execute(
        "INSERT INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'g', ?)",
        [stable_id("g", prompt_id, section, kind, at), cid(prompt_id), section, value, kind, at])


def seed(store):
    for prompt_id in RANKER:
        add_conversation(store, prompt_id, f"Question {prompt_id}")
    for (prompt_id, annotator), ranking in WORLD.items():
        personal = "B>A>C>D" if (prompt_id, annotator) == ("c1", "u1") else None
        add_assessment(store, prompt_id, annotator, ranking, personal,
                       demographics={"country_of_residence": COUNTRY[annotator], "age": "18-24"})
    add_run(store, RUN, RANKER)
    t0, t1, t2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"
    grade(store, "c1", "be_honest", 5, "rule", t0)
    grade(store, "c2", "be_honest", 5, "model", t0)
    grade(store, "c3", "protect_privacy", 5, "rule", t1)
    grade(store, "c3", "protect_privacy", 2, "person", t0)  # a person outranks a newer rule grade
    grade(store, "c2", "protect_privacy", 4, "rule", t0)
    grade(store, "c1", "be_kind", 5, "rule", t0)
    grade(store, "c1", "be_kind", 3, "rule", t1)  # the latest grade of the same kind wins
    grade(store, "c3", "be_kind", 5, "model", t1)
    grade(store, "c3", "be_kind", 1, "rule", t2)  # a model outranks a newer rule grade


@pytest.fixture
def store():
    s = Store.memory()
    seed(s)
    return s


def by_section(result):
    return {e.section_id: e for e in result.sections}


def test_effective_grades_prefer_person_then_model_then_latest(store):
    grades = effective_grades(store)
    assert grades[(cid("c3"), "protect_privacy")] == 2
    assert grades[(cid("c1"), "be_kind")] == 3
    assert grades[(cid("c3"), "be_kind")] == 5
    assert set(effective_grades(store, min_grade=5)) == {(cid("c1"), "be_honest"), (cid("c2"), "be_honest"),
                                                        (cid("c3"), "be_kind")}


def test_agreement_matches_the_hand_count(store):
    result = compute_agreement(store, resamples=0)
    overall = result.overall.stats
    assert (overall.agreeing, overall.counted, overall.conversations, overall.assessments) == (21, 33, 3, 6)
    assert overall.share == pytest.approx(21 / 33)
    sections = by_section(result)
    assert list(sections) == ["be_honest", "be_kind"]  # highest agreement first; protect_privacy has none at 5
    assert (sections["be_honest"].stats.agreeing, sections["be_honest"].stats.counted) == (15, 21)
    assert (sections["be_kind"].stats.agreeing, sections["be_kind"].stats.counted) == (6, 12)
    lower = by_section(compute_agreement(store, resamples=0, min_relevance=4))
    assert (lower["protect_privacy"].stats.agreeing, lower["protect_privacy"].stats.counted) == (4, 9)
    assert result.run_id == RUN and result.model == "ranker-model"


def test_agreement_matches_pairwise_agreement_on_random_data():
    rng = random.Random(7)
    rankings = ["A>B>C>D", "B>A>C>D", "A=B>C>D", "A>B=C=D", "D>C>B>A", "C>A=D>B", "A=B=C=D", "B=C>A>D"]
    store = Store.memory()
    ranker = {}
    expected = [0, 0]
    for c in range(20):
        add_conversation(store, f"r{c}", "q")
        ranker[f"r{c}"] = rng.choice(rankings)
        for a in range(rng.randint(1, 6)):
            mine = rng.choice(rankings)
            add_assessment(store, f"r{c}", f"a{a}", mine)
            pa = pairwise_agreement(parse_ranking(mine), parse_ranking(ranker[f"r{c}"]))
            expected[0] += pa.agreeing
            expected[1] += pa.counted
    add_run(store, RUN, ranker)
    overall = compute_agreement(store, resamples=0).overall.stats
    assert [overall.agreeing, overall.counted] == expected


def test_bootstrap_interval_is_seeded_and_exact_on_two_conversations(store):
    first = compute_agreement(store, resamples=1000, seed=42)
    assert first == compute_agreement(store, resamples=1000, seed=42)
    honest = by_section(first)["be_honest"].stats
    # Resampling two conversations gives {c1,c1} 22/24, {c1,c2} 15/21, {c2,c2} 8/18, each extreme 1/4 of the time,
    # so the 2.5th and 97.5th percentiles are the extremes.
    assert honest.low == pytest.approx(8 / 18) and honest.high == pytest.approx(22 / 24)
    overall = first.overall.stats
    assert overall.low < overall.share < overall.high
    assert 4 / 9 <= overall.low and overall.high <= 11 / 12
    single = by_section(first)["be_kind"].stats
    assert single.low == single.high == single.share == 0.5


def test_split_by_demographic_field(store):
    result = compute_agreement(store, by="country_of_residence", resamples=200, seed=1)
    assert result.group_names == ("FR", "US")
    groups = result.overall.groups
    assert (groups["FR"].agreeing, groups["FR"].counted, groups["FR"].assessments) == (16, 16, 3)
    assert (groups["US"].agreeing, groups["US"].counted) == (5, 17)
    assert groups["FR"].low == groups["FR"].high == 1.0
    honest = by_section(result)["be_honest"].groups
    assert (honest["US"].agreeing, honest["US"].counted, honest["US"].conversations) == (5, 11, 2)
    with pytest.raises(KnownError, match="No participant has the demographic field 'shoe_size'"):
        compute_agreement(store, by="shoe_size")


def test_personal_view_and_run_choice(store):
    result = compute_agreement(store, view="personal", resamples=0)
    assert (result.overall.stats.agreeing, result.overall.stats.counted) == (5, 6)
    assert result.skipped["no_ranking"] == 5
    add_run(store, "33333333-3333-4333-8333-333333333333", {"c1": "D>C>B>A"}, created_at="2027-01-01T00:00:00Z")
    latest = compute_agreement(store, resamples=0)
    assert latest.run_id.startswith("3333") and latest.overall.stats.counted == 12
    assert compute_agreement(store, resamples=0, run_id=RUN).overall.stats.counted == 33
    with pytest.raises(KnownError, match="No ranker run nope"):
        compute_agreement(store, run_id="nope")


def test_no_ranker_run_is_a_known_error():
    with pytest.raises(KnownError, match="no ranker run"):
        compute_agreement(Store.memory())


def test_analyse_is_vectorised_over_groups():
    store = Store.memory()
    seed(store)
    data = load_agreement_data(store)
    groups = np.array([0, 1] * 3)
    out = analyse(data, {None: np.arange(3)}, groups=groups, group_names=["x", "y"], resamples=50, seed=3)
    everyone, split = out[None]
    assert split["x"].counted + split["y"].counted == everyone.counted


# ---- machine against person -----------------------------------------------------------------------


def label(store, n, stance, kind, name, at, version=None):
    store.db.execute(
        "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
        " prompt_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [stable_id("l", str(n), kind, name, at), PROPOSAL, stable_id("ca1", "justification", "c1", "u1", "world",
                                                                     str(n)), stance, kind, name, version, at])


PROPOSAL = "11111111-1111-4111-8111-111111111111"


def test_kappa_on_a_hand_computed_table():
    # person rows × model columns: po = 8/10, marginals (5,3,2) both ways, pe = .25 + .09 + .04 = .38
    table = np.array([[4, 1, 0], [1, 2, 0], [0, 0, 2]])
    assert cohen_kappa(table) == pytest.approx((0.8 - 0.38) / (1 - 0.38))
    assert cohen_kappa(np.eye(3, dtype=int) * 4) == 1.0
    assert cohen_kappa(np.array([[5, 0, 0], [0, 0, 0], [0, 0, 0]])) is None
    assert cohen_kappa(np.zeros((3, 3), dtype=int)) is None


def test_label_trust_compares_latest_labels_with_people(store):
    add_proposal(store, PROPOSAL, ["c1"])
    for n in range(10):
        add_justification(store, "c1", "u1", f"text {n}", position=n)
    t0, t1 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
    pairs = [("supports", "supports")] * 4 + [("supports", "refutes"), ("refutes", "supports")] + \
        [("refutes", "refutes")] * 2 + [("no_comment", "no_comment")] * 2
    for n, (person, model) in enumerate(pairs):
        label(store, n, person, "person", "ann", t1)
        label(store, n, model, "model", "gpt-x", t1, "stance-v1")
    label(store, 0, "refutes", "person", "bob", t0)  # older person label: not used
    label(store, 1, "no_comment", "model", "gpt-x", t0, "stance-v1")  # older model label: not used
    for n in (0, 1, 5):  # persons: supports, supports, refutes; rule says supports each time
        label(store, n, "supports", "rule", "ranking-rule", t0)
    rows = {(r.source_kind, r.source_name): r for r in label_trust(store)}
    model = rows[("model", "gpt-x")]
    assert (model.compared, model.agreeing, model.prompt_version) == (10, 8, "stance-v1")
    assert model.kappa == pytest.approx(0.42 / 0.62)
    assert model.table["supports"] == {"supports": 4, "refutes": 1, "no_comment": 0}
    rule = rows[("rule", "ranking-rule")]
    assert (rule.compared, rule.agreeing, rule.kappa) == (3, 2, 0.0)
    assert ("person", "ann") not in rows


# ---- chart -------------------------------------------------------------------------------------------------


def test_svg_is_valid_escaped_and_sorted(store):
    from dataclasses import replace

    result = compute_agreement(store, by="country_of_residence", resamples=100, seed=0)
    nasty = '<script>alert("x")</script> & co'
    result = replace(result, sections=tuple(replace(s, title=nasty) for s in result.sections))
    svg = agreement_svg(result, by="country_of_residence")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    rows = [g.get("data-section") for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert rows == ["be_honest", "be_kind"]
    assert svg.count('class="group"') == 4  # two groups on each of the two sections
    assert "overall 64%" in svg
    assert 'class="group"' not in agreement_svg(result)
    with pytest.raises(ValueError):
        agreement_svg(result, by="age")


# ---- command line -------------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path):
    repo = spec_repo_with(tmp_path / "repo", SPEC)
    ws = Workspace.create(tmp_path / "ws", spec_repo=repo)
    seed(ws.store)
    ws.close()
    return tmp_path / "ws"


def test_cli_agreement_json_and_svg(capsys, workspace, tmp_path):
    svg = tmp_path / "chart.svg"
    code = main(["agreement", str(workspace), "--seed", "5", "--resamples", "200", "--by", "country_of_residence",
                 "--svg", str(svg), "--json", "--min-conversations", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["overall"]["stats"]["counted"] == 33
    assert data["sections"][0]["section_id"] == "be_honest" and data["sections"][0]["title"] == "Be honest"
    assert ET.parse(svg).getroot().tag.endswith("svg")
    code = main(["agreement", str(workspace), "--min-relevance", "9"])
    assert code == 1 and "1 to 5" in capsys.readouterr().err
    code = main(["agreement", str(workspace), "--resamples", "0", "--min-conversations", "2"])
    assert code == 0 and "be_honest" in capsys.readouterr().out


def test_sections_with_few_conversations_are_left_out_unless_asked_for(capsys, workspace, tmp_path, store):
    # be_honest has two conversations, be_kind one: by default (5) neither is listed.
    full = compute_agreement(store, seed=1, resamples=50)
    assert {e.section_id: e.stats.conversations for e in full.sections} == {"be_honest": 2, "be_kind": 1}
    assert (full.min_conversations, full.hidden_sections, full.hidden_note()) == (1, 0, "")
    two = full.keeping(2)
    assert [e.section_id for e in two.sections] == ["be_honest"] and two.hidden_sections == 1
    assert two.hidden_note() == "1 section with fewer than 2 conversations not shown (their intervals say little)."
    assert two.overall == full.overall  # the overall figure keeps every conversation
    assert compute_agreement(store, seed=1, resamples=50, min_conversations=2) == two
    with pytest.raises(KnownError, match="at least 1"):
        compute_agreement(store, min_conversations=0)
    # The command line: default 5, n beside each figure, the hidden ones counted.
    assert main(["agreement", str(workspace), "--resamples", "50", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "be_honest" not in out and "2 sections with fewer than 5 conversations not shown" in out
    assert "--min-conversations 1 lists them" in out
    assert main(["agreement", str(workspace), "--resamples", "50", "--seed", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["sections"], data["min_conversations"], data["hidden_sections"]) == ([], 5, 2)
    assert main(["agreement", str(workspace), "--resamples", "50", "--seed", "1", "--min-conversations", "2"]) == 0
    out = capsys.readouterr().out
    assert "be_honest" in out and "2 conversations" in out and "be_kind" not in out
    # The chart says what it left out.
    svg = agreement_svg(two)
    assert "1 section with fewer than 2 conversations not shown" in svg
    assert 'data-section="be_kind"' not in svg and 'data-section="be_honest"' in svg
    ET.fromstring(svg)


def test_the_help_states_the_default_minimum_of_conversations(capsys):
    from reviewer.agreement import MIN_CONVERSATIONS

    assert main(["agreement", "--help"]) == 0
    assert f"(default {MIN_CONVERSATIONS};" in " ".join(capsys.readouterr().out.split())


def test_cli_trust(capsys, workspace):
    assert main(["trust", str(workspace), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["agreement", str(workspace), "--labels"]) == 0
    assert "No link has been labelled" in capsys.readouterr().out
