"""Generate the demo workspace's data: synthetic CA-1 crowd files, a ranker run, relevance grades, proposals.

The spec is real (the Model Spec, ``spec_repo/``, release 2025-04-11); the crowd is not. The content is
hand-written and lives in ``resources/demo/source/``: ``conversations.json`` (prompts, the four
candidate responses with stance tags, the ranker's ranking and reason, relevance grades to sections
of 2025-04-11, the crowd's average leaning and each proposal's expected ranking), ``rationales.json``
(rationale and "ideal model behaviour" pools in seven languages) and ``proposals.json`` with
``proposal_texts/`` (the five proposals). This script only draws from those pools with a fixed seed:
who took part, which prompts each person reviewed, how they ranked, and which words they used.
Running it again gives byte-identical files.

Usage::

    python scripts/make_demo_data.py            # rewrite resources/demo/
    python scripts/make_demo_data.py --out DIR  # write to DIR instead (DIR/ca1/... etc.)
    python scripts/make_demo_data.py --summary  # also print the crowd picture per proposal

``proposals.jsonl`` is written from ``source/proposals.json``: a section ``"from_release": DATE`` takes
that release's section text, byte for byte (``spec_repo/releases/DATE/model_spec.md``, read with the
spec parser); a section ``"text_file"`` takes that file. Every proposal is based on the tag
``v2025.04.11``; its linked conversations and expected rankings come from ``conversations.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "resources" / "demo"
SOURCE = DEMO / "source"
RELEASES = ROOT / "spec_repo" / "releases"
BASE_RELEASE = "2025-04-11"  # the demo repository's HEAD: every proposal and grade is written against it

SEED = 20260701
NAMESPACE = uuid.UUID("2f0c7b1e-8a55-4c1d-9b7e-5d3a61c0e4f2")
RANKER_RUN_ID = "8c3e5a71-4f2b-4d9a-a6c1-93b07e2d5f14"
RANKER_MODEL = "o3-2025-04-16 (Model Spec Ranker)"
RANKER_PROMPT_VERSION = "ranker-v1"
SPEC_REVISION = "v2025.04.11"
RELEVANCE_GRADER = "gpt-4.1 (relevance-v1)"
RELEVANCE_START = datetime(2025, 6, 9, 9, 30, tzinfo=UTC)

# The proposal the crowd is built to split on by country (keys as in source/proposals.json).
SPLIT_KEY = "adult_erotica"

# (country of residence, participants, languages they write rationales in, attitude to sexual content in
# fiction). The attitudes are invented for the demo, to give one proposal a split by country to show;
# they are not findings about any country.
COUNTRIES: tuple[tuple[str, int, dict[str, float], str], ...] = (
    ("United States", 20, {"en": 0.9, "es": 0.1}, "middle"),
    ("United Kingdom", 11, {"en": 1.0}, "permissive"),
    ("Canada", 8, {"en": 0.75, "fr": 0.25}, "middle"),
    ("Australia", 7, {"en": 1.0}, "permissive"),
    ("India", 15, {"en": 0.55, "hi": 0.45}, "reserved"),
    ("Nigeria", 11, {"en": 1.0}, "reserved"),
    ("Kenya", 10, {"en": 1.0}, "reserved"),
    ("South Africa", 7, {"en": 1.0}, "middle"),
    ("Philippines", 10, {"en": 1.0}, "reserved"),
    ("Mexico", 9, {"es": 0.85, "en": 0.15}, "middle"),
    ("Spain", 9, {"es": 0.85, "en": 0.15}, "permissive"),
    ("Argentina", 6, {"es": 0.85, "en": 0.15}, "middle"),
    ("Colombia", 6, {"es": 0.85, "en": 0.15}, "middle"),
    ("Brazil", 13, {"pt": 0.85, "en": 0.15}, "middle"),
    ("Portugal", 6, {"pt": 0.8, "en": 0.2}, "middle"),
    ("France", 9, {"fr": 0.85, "en": 0.15}, "permissive"),
    ("Germany", 9, {"de": 0.75, "en": 0.25}, "permissive"),
    ("Japan", 9, {"ja": 0.85, "en": 0.15}, "permissive"),
)
# How much a participant likes a response tagged ``explicit``, by their country's attitude.
EXPLICIT_AFFINITY = {"permissive": 1.8, "middle": 0.0, "reserved": -1.4}

AGES = (("18-24", 20), ("25-34", 28), ("35-44", 20), ("45-54", 14), ("55-64", 11), ("65+", 7))
GENDERS = (("Female", 49), ("Male", 47), ("Non-binary / third gender", 2.0), ("Prefer not to say", 2.0))
EDUCATION = (
    ("Less than high school", 3), ("High school or equivalent", 17),
    ("Some college / vocational training", 20), ("Bachelor's degree", 35), ("Master's degree", 19),
    ("Doctorate or professional degree", 6),
)
AI_USAGE = (("Never", 5), ("Rarely", 12), ("A few times a month", 20), ("A few times a week", 30), ("Daily", 33))
AI_CONCERN = (
    ("Not at all concerned", 8), ("Slightly concerned", 25), ("Moderately concerned", 35),
    ("Very concerned", 22), ("Extremely concerned", 10),
)

IMPORTANCE = ("Not important", "Somewhat important", "Very important")
LIKELIHOOD = ("not at all", "slightly", "moderately", "very", "extremely")
SUBJECTIVITY = {
    "single": "There is a single correct answer to this question",
    "values": "The correct answer depends on a person's values or culture",
    "other": "The correct answer depends on something else (the time, the weather, etc)",
    "unsure": "I'm not sure",
}
# How a conversation's own label ("subj:" in conversations.json) spreads over the four answers.
SUBJECTIVITY_MIX = {
    "values": {"values": 0.74, "other": 0.09, "single": 0.11, "unsure": 0.06},
    "other": {"other": 0.45, "values": 0.3, "single": 0.15, "unsure": 0.1},
    "single": {"single": 0.6, "values": 0.25, "unsure": 0.1, "other": 0.05},
}

NOISE = 0.75  # spread of each person's judgement around their leaning, per response
TIE_GAP = 0.06  # responses scored closer than this are ranked equal
PERSONAL_SHARE = 0.27
UNACCEPTABLE_FLOOR = -0.9  # only responses the crowd leans this strongly against are called unacceptable
LATIN = {"en", "es", "pt", "fr", "de"}


@dataclass
class Participant:
    """One generated participant.

    Attributes:
        annotator_id: opaque id, as in CA-1.
        demographics: the CA-1 demographics block.
        language: the language their rationales are written in.
        group: their country's attitude to sexual content in fiction (see ``EXPLICIT_AFFINITY``).
        affinity: how much they like each stance tag, on top of the crowd's leaning.
        style: ``terse``, ``plain`` or ``chatty``.
        typos: whether they type quickly and carelessly.
        assessments: their assessments, in the order they did them.
    """

    annotator_id: str
    demographics: dict[str, str]
    language: str
    group: str
    affinity: dict[str, float]
    style: str
    typos: bool
    assessments: list[dict[str, Any]] = field(default_factory=list)


def weighted(rng: random.Random, pairs: Any) -> Any:
    """Pick one value from ``(value, weight)`` pairs or a ``{value: weight}`` dict."""
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    return rng.choices([v for v, _ in items], weights=[w for _, w in items])[0]


def make_id(*parts: str) -> str:
    """Return a deterministic opaque id (32 hex digits) for demo objects."""
    return uuid.uuid5(NAMESPACE, "/".join(parts)).hex


def ranking_from_scores(scores: dict[str, float]) -> str:
    """Order letters by score, tying neighbours closer than ``TIE_GAP``; return e.g. ``B>A=C>D``."""
    order = sorted(scores, key=lambda letter: (-scores[letter], letter))
    tiers: list[list[str]] = [[order[0]]]
    for prev, letter in zip(order, order[1:]):
        if scores[prev] - scores[letter] < TIE_GAP:
            tiers[-1].append(letter)
        else:
            tiers.append([letter])
    return ">".join("=".join(sorted(tier)) for tier in tiers)


def flat(ranking: str) -> list[str]:
    """Return the letters of a ranking string from most to least preferred."""
    return [letter for tier in ranking.split(">") for letter in tier.split("=")]


def cap(text: str) -> str:
    """Capitalise the first character (templates use ``{Pos}`` at the start of a sentence)."""
    return text[:1].upper() + text[1:]


def join_sentences(parts: list[str], language: str = "en") -> str:
    """Join sentences, adding a full stop (in the language's script) only where one is missing."""
    stop, sep = {"hi": ("।", " "), "ja": ("。", "")}.get(language, (".", " "))
    out = ""
    for part in (x.strip() for x in parts):
        if not part:
            continue
        if out and out[-1] not in ".!?。।":
            out += stop
        out = f"{out}{sep}{part}" if out else part
    return out


def add_typos(text: str, rng: random.Random, language: str) -> str:
    """Roughen a rationale the way quick typing does: a swapped or dropped letter, no capital, no accents."""
    words = text.split(" ")
    for _ in range(rng.choice((1, 1, 2))):
        long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not long_words:
            break
        i = rng.choice(long_words)
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        if rng.random() < 0.6:
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        else:
            words[i] = w[:j] + w[j + 1:]
    text = " ".join(words)
    if rng.random() < 0.4:
        text = text[:1].lower() + text[1:]
    if rng.random() < 0.4 and text.endswith("."):
        text = text[:-1]
    if language in {"es", "pt", "fr"} and rng.random() < 0.5:
        text = text.translate(str.maketrans("áéíóúãõç", "aeiouaoc"))
    if language == "en" and rng.random() < 0.3:
        text = text.replace(" you ", " u ").replace("because", "bc")
    return text


class Writer:
    """Writes rationales from the hand-written pools.

    It draws from its own random stream, so that editing the word pools changes only words, never
    who reviewed what or how they ranked it (and so never the crowd picture of a proposal).

    Attributes:
        pools: ``rationales.json`` as loaded.
        rng: the stream for word choices.
    """

    def __init__(self, pools: dict[str, Any], seed: int) -> None:
        self.pools = pools
        self.rng = random.Random(seed)

    def _tag(self, conv: dict[str, Any], letter: str) -> str:
        tags = conv["responses"][letter]["tags"]
        return tags[0] if self.rng.random() < 0.65 else self.rng.choice(tags)

    def _fill(self, template: str, values: dict[str, str]) -> str:
        full = dict(values)
        full.update({k[0].upper() + k[1:]: cap(v) for k, v in values.items()})
        return template.format(**full)

    def _finish(self, text: str, p: Participant, conv: dict[str, Any]) -> str:
        lang = self.pools["languages"][p.language]
        if p.style == "chatty":
            contexts = lang["context"].get(conv["topic"], []) + lang["context"]["any"]
            extra = self.rng.choice(contexts) if self.rng.random() < 0.6 else self.rng.choice(lang["closers"])
            text = join_sentences([text, extra], p.language)
        if p.typos and p.language in LATIN and self.rng.random() < 0.7:
            text = add_typos(text, self.rng, p.language)
        return text.strip()

    def world(self, p: Participant, conv: dict[str, Any], ranking: str) -> str:
        """Explain a world ranking: why the top response, and often why not the bottom one."""
        lang = self.pools["languages"][p.language]
        order = flat(ranking)
        top, second, bottom = order[0], order[1], order[-1]
        values = {
            "top": top, "second": second, "bottom": bottom,
            "pos": self.rng.choice(lang["pos"][self._tag(conv, top)]),
            "neg": self.rng.choice(lang["neg"][self._tag(conv, bottom)]),
        }
        praise = conv["comments"]["praise"]
        criticism = conv["comments"]["criticism"]
        # Hand-written remarks praise a response or criticise one; use them only where they fit the ranking.
        remarks = [praise[top]] if top in praise else []
        remarks += [criticism[x] for x in order[2:] if x in criticism]
        if p.style == "terse" or (p.style == "plain" and self.rng.random() < 0.1):
            text = self._fill(self.rng.choice(lang["terse"]), values)
        elif p.language == "en" and remarks and self.rng.random() < 0.55:
            text = join_sentences(remarks[: 2 if p.style == "chatty" or self.rng.random() < 0.3 else 1])
            if p.style == "chatty" and self.rng.random() < 0.25:
                text = join_sentences([text, self._fill(self.rng.choice(lang["world"]), values)])
        else:
            text = self._fill(self.rng.choice(lang["world"]), values)
        return self._finish(text, p, conv)

    def personal(self, p: Participant, conv: dict[str, Any], ranking: str) -> str:
        """Explain how the participant wants to be answered themselves."""
        lang = self.pools["languages"][p.language]
        top = flat(ranking)[0]
        values = {"top": top, "pos": self.rng.choice(lang["pos"][self._tag(conv, top)])}
        return self._finish(self._fill(self.rng.choice(lang["personal"]), values), p, conv)

    def unacceptable(self, p: Participant, conv: dict[str, Any], letters: list[str]) -> str:
        """Say why some responses should never be given."""
        lang = self.pools["languages"][p.language]
        values = {
            "letters": lang["and"].join(letters),
            "neg": self.rng.choice(lang["neg"][conv["responses"][letters[0]]["tags"][0]]),
        }
        templates = lang["unacceptable_many" if len(letters) > 1 else "unacceptable"]
        return self._finish(self._fill(self.rng.choice(templates), values), p, conv)

    def ideal(self, p: Participant) -> str:
        """Write the participant's answer to "what is ideal model behaviour?"."""
        pool = self.pools["ideal_model_behavior"][p.language]
        parts = [self.rng.choice(pool["open"])]
        if p.style != "terse" or self.rng.random() < 0.3:
            parts.append(self.rng.choice(pool["middle"]))
        if p.style == "chatty":
            parts.append(self.rng.choice([m for m in pool["middle"] if m not in parts]))
        parts.append(self.rng.choice(pool["close"]))
        sep = "" if p.language == "ja" else " "
        text = sep.join(x for x in parts if x)
        if p.typos and p.language in LATIN:
            text = add_typos(text, self.rng, p.language)
        return text


def make_participants(rng: random.Random, writer: Writer, tags: list[str]) -> list[Participant]:
    """Create the panel: fixed numbers per country, demographics and personal leanings drawn at random."""
    people: list[Participant] = []
    for country, count, languages, group in COUNTRIES:
        for _ in range(count):
            age = weighted(rng, AGES)
            usage = weighted(rng, AI_USAGE)
            concern = weighted(rng, AI_CONCERN)
            older = age in ("55-64", "65+")
            if older and usage == "Daily" and rng.random() < 0.5:
                usage = "A few times a month"
            demographics = {
                "age": age,
                "gender": weighted(rng, GENDERS),
                "education_level": weighted(rng, EDUCATION),
                "country_of_residence": country,
                "generative_ai_usage": usage,
                "ai_concern_level": concern,
                "ideal-model-behavior": "",
            }
            u = [v for v, _ in AI_USAGE].index(usage) - 2
            c = [v for v, _ in AI_CONCERN].index(concern) - 2
            affinity = {t: rng.gauss(0, 0.25) for t in tags}
            affinity["cautious"] += 0.15 * c - 0.05 * u
            affinity["refusal"] += 0.15 * c - 0.12 * u
            affinity["transparent"] += 0.12 * c
            affinity["playful"] -= 0.08 * c
            affinity["direct"] += 0.1 * u - 0.05 * c
            affinity["respects_autonomy"] += 0.1 * u
            affinity["preachy"] -= 0.1 * u
            affinity["hedged_estimate"] += 0.05 * u
            if older:
                affinity["warm"] += 0.2
                affinity["cautious"] += 0.15
                affinity["playful"] -= 0.1
            affinity["explicit"] = EXPLICIT_AFFINITY[group] + rng.gauss(0, 0.4)
            person = Participant(
                annotator_id=make_id("annotator", str(len(people))),
                demographics=demographics,
                language=weighted(rng, languages),
                group=group,
                affinity=affinity,
                style=weighted(rng, (("terse", 20), ("plain", 50), ("chatty", 30))),
                typos=rng.random() < 0.22,
            )
            person.demographics["ideal-model-behavior"] = writer.ideal(person)
            people.append(person)
    rng.shuffle(people)
    return people


def leaning(p: Participant, conv: dict[str, Any]) -> dict[str, float]:
    """The participant's expected score for each response: the crowd's leaning plus their tag affinities."""
    return {
        letter: conv["crowd"][letter] + 0.8 * sum(p.affinity[t] for t in r["tags"]) / math.sqrt(len(r["tags"]))
        for letter, r in conv["responses"].items()
    }


def assess(p: Participant, conv: dict[str, Any], writer: Writer, rng: random.Random) -> dict[str, Any]:
    """Create one CA-1 assessment of ``conv`` by ``p``."""
    mean = leaning(p, conv)
    scores = {letter: m + rng.gauss(0, NOISE) for letter, m in mean.items()}
    world = ranking_from_scores(scores)
    blocks: dict[str, Any] = {}
    if rng.random() < PERSONAL_SHARE:
        personal = ranking_from_scores({k: v + rng.gauss(0, 0.5) for k, v in scores.items()})
        blocks["personal"] = [{"ranking": personal, "rationale": writer.personal(p, conv, personal)}]
    blocks["world"] = [{"ranking": world, "rationale": writer.world(p, conv, world)}]
    worst = [letter for letter in reversed(flat(world)) if mean[letter] < UNACCEPTABLE_FLOOR]
    if worst and rng.random() < 0.25:
        letters = sorted(worst[: 2 if len(worst) > 1 and rng.random() < 0.3 else 1])
        blocks["unacceptable"] = [{
            "rating": [f"{letter} is unacceptable" for letter in letters],
            "rationale": writer.unacceptable(p, conv, letters),
        }]
    usage = [v for v, _ in AI_USAGE].index(p.demographics["generative_ai_usage"])
    likely = max(0, min(4, round(rng.gauss(1.2 + 0.45 * usage, 1.0))))
    importance = (
        weighted(rng, ((IMPORTANCE[0], 8), (IMPORTANCE[1], 32), (IMPORTANCE[2], 60)))
        if conv.get("importance") == "high"
        else weighted(rng, ((IMPORTANCE[0], 20), (IMPORTANCE[1], 50), (IMPORTANCE[2], 30)))
    )
    return {
        "annotator_id": p.annotator_id,
        "conversation_id": conv["prompt_id"],
        "importance": importance,
        "representativeness": f"It is {LIKELIHOOD[likely]} likely that I would ask a question like this to an AI chatbot.",
        "subjectivity": SUBJECTIVITY[weighted(rng, SUBJECTIVITY_MIX[conv["subjectivity"]])],
        "ranking_blocks": blocks,
    }


def assign(rng: random.Random, people: list[Participant], convs: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Choose 5–20 prompts for each participant (weighted sampling without replacement)."""
    # The split proposal is judged by country, so its conversations are shown a little more often.
    weights = [1.8 if SPLIT_KEY in c["expected"] else 1.0 for c in convs]
    plan: dict[str, list[int]] = {}
    for p in people:
        k = max(5, min(20, round(rng.gauss(11.5, 4.0))))
        keys = sorted(range(len(convs)), key=lambda i: -(rng.random() ** (1.0 / weights[i])))
        plan[p.annotator_id] = keys[:k]
    return plan


def dumps(obj: Any) -> str:
    """One JSON Lines record (UTF-8 text kept as is)."""
    return json.dumps(obj, ensure_ascii=False)


def read_release(date: str) -> Any:
    """Parse ``spec_repo/releases/DATE/model_spec.md`` with the product's spec parser (newlines kept)."""
    from reviewer.spec import parse_spec

    with open(RELEASES / date / "model_spec.md", encoding="utf-8", newline="") as handle:
        return parse_spec(handle.read())


def load_proposals() -> list[dict[str, Any]]:
    """Read ``source/proposals.json`` and resolve each section's new text (a release's or a file's)."""
    proposals: list[dict[str, Any]] = json.loads((SOURCE / "proposals.json").read_text(encoding="utf-8"))
    base = read_release(BASE_RELEASE)
    releases: dict[str, Any] = {}
    for proposal in proposals:
        for section in proposal["sections"]:
            sid = section["section_id"]
            if base.get(sid) is None:
                raise SystemExit(f"{proposal['key']}: {BASE_RELEASE} has no section {sid!r}")
            if "from_release" in section:
                date = section["from_release"]
                if date not in releases:
                    releases[date] = read_release(date)
                section["new_text"] = releases[date].section(sid).text
            else:
                with open(SOURCE / section["text_file"], encoding="utf-8", newline="") as handle:
                    section["new_text"] = handle.read()
            if section["new_text"] == base.section(sid).text:
                raise SystemExit(f"{proposal['key']}: the new text of {sid!r} is the text of {BASE_RELEASE}")
    return proposals


def proposals_text(proposals: list[dict[str, Any]], convs: list[dict[str, Any]]) -> str:
    """Return proposals.jsonl (the product's proposals format), one line per proposal of the source."""
    out = []
    for p in proposals:
        key = p["key"]
        out.append(dumps({
            "id": p["id"], "title": p["title"], "intent": p["intent"], "kind": p["kind"], "origin": p["origin"],
            "base_revision": SPEC_REVISION,
            "sections": [{"section_id": x["section_id"], "new_text": x["new_text"]} for x in p["sections"]],
            "created_at": p["created_at"], "created_by": p["created_by"],
            "linked_conversations": [c["prompt_id"] for c in convs if key in c["expected"]],
            "expected_ranking": {c["prompt_id"]: c["expected"][key] for c in convs if key in c["expected"]},
        }))
    return "\n".join(out) + "\n"


def check_sections(convs: list[dict[str, Any]]) -> None:
    """Refuse relevance grades and ranker reasons that name a section the base release does not have."""
    ids = set(read_release(BASE_RELEASE).ids())
    for c in convs:
        named = set(c["relevance"]) | set(re.findall(r"#([a-z_]+)", c["ranker"]["reason"]))
        unknown = sorted(named - ids)
        if unknown:
            raise SystemExit(f"{c['slug']}: no section {', '.join(unknown)} in {BASE_RELEASE}")


def build(out: Path) -> dict[str, Any]:
    """Generate every demo file under ``out``; return the in-memory data for ``--summary``."""
    convs: list[dict[str, Any]] = json.loads((SOURCE / "conversations.json").read_text(encoding="utf-8"))
    pools = json.loads((SOURCE / "rationales.json").read_text(encoding="utf-8"))
    proposals = load_proposals()
    keys = {p["key"] for p in proposals}
    check_sections(convs)
    for c in convs:
        c["prompt_id"] = make_id("conversation", c["slug"])
        for key in c["expected"]:
            if key not in keys:
                raise SystemExit(f"{c['slug']}: unknown proposal key {key!r}")
    rng = random.Random(SEED)
    writer = Writer(pools, SEED + 1)
    tags = sorted(pools["languages"]["en"]["pos"])
    people = make_participants(rng, writer, tags)
    plan = assign(rng, people, convs)
    by_conv: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for p in people:
        for i in plan[p.annotator_id]:
            a = assess(p, convs[i], writer, rng)
            p.assessments.append(a)
            by_conv[i].append(a)

    (out / "ca1").mkdir(parents=True, exist_ok=True)
    with open(out / "ca1" / "comparisons.jsonl", "w", encoding="utf-8") as f:
        for i, c in enumerate(convs):
            f.write(dumps({
                "prompt_id": c["prompt_id"],
                "prompt": {"id": c["prompt_id"], "messages": c["messages"]},
                "responses": [
                    {"response_index": letter, "messages": [{"role": "assistant", "content": r["text"]}]}
                    for letter, r in sorted(c["responses"].items())
                ],
                "metadata": {"assessments": by_conv[i]},
            }) + "\n")
    with open(out / "ca1" / "annotators.jsonl", "w", encoding="utf-8") as f:
        for p in sorted(people, key=lambda x: x.annotator_id):
            f.write(dumps({
                "annotator_id": p.annotator_id, "demographics": p.demographics, "assessments": p.assessments,
            }) + "\n")
    with open(out / "rankings.jsonl", "w", encoding="utf-8") as f:
        for c in convs:
            f.write(dumps({
                "run_id": RANKER_RUN_ID, "spec_revision": SPEC_REVISION, "model": RANKER_MODEL,
                "prompt_version": RANKER_PROMPT_VERSION, "prompt_id": c["prompt_id"],
                "ranking": c["ranker"]["ranking"], "reason": c["ranker"]["reason"],
            }) + "\n")
    with open(out / "relevance.jsonl", "w", encoding="utf-8") as f:
        n = 0
        for c in convs:
            for section, grade in c["relevance"].items():
                when = RELEVANCE_START + timedelta(seconds=11 * n)
                n += 1
                f.write(dumps({
                    "prompt_id": c["prompt_id"], "section_id": section, "grade": grade,
                    "grader_kind": "model", "grader": RELEVANCE_GRADER,
                    "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }) + "\n")
    with open(out / "proposals.jsonl", "w", encoding="utf-8", newline="") as f:
        f.write(proposals_text(proposals, convs))
    return {"convs": convs, "people": people, "proposals": proposals}


def summary(data: dict[str, Any]) -> None:
    """Print the crowd picture each proposal gets under the ranking rule, overall and by country.

    Shares are supports / (supports + refutes), with the Wilson 95% interval the review desk shows.
    """
    from reviewer.evidence import ranking_rule_stance, wilson_interval
    from reviewer.rankings import parse_ranking

    def line(label: str, counts: Counter[str]) -> str:
        decided = counts["supports"] + counts["refutes"]
        low, high = wilson_interval(counts["supports"], decided) or (0.0, 0.0)
        share = counts["supports"] / decided if decided else 0.0
        return (f"{label} n={sum(counts.values()):4} supports={counts['supports']:4} refutes={counts['refutes']:4}"
                f" no_comment={counts['no_comment']:4} share={share:4.0%} [{low:.0%}, {high:.0%}]")

    country = {p.annotator_id: p.demographics["country_of_residence"] for p in data["people"]}
    by_prompt: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in data["people"]:
        for a in p.assessments:
            by_prompt[a["conversation_id"]].append(a)
    for proposal in data["proposals"]:
        key = proposal["key"]
        total: Counter[str] = Counter()
        per: dict[str, Counter[str]] = defaultdict(Counter)
        for c in data["convs"]:
            if key not in c["expected"]:
                continue
            expected, ranker = parse_ranking(c["expected"][key]), parse_ranking(c["ranker"]["ranking"])
            for a in by_prompt[c["prompt_id"]]:
                for block, items in a["ranking_blocks"].items():
                    for item in items:
                        # As the product does: a personal justification by its own ranking, others by the world one.
                        own = item["ranking"] if block == "personal" else a["ranking_blocks"]["world"][0]["ranking"]
                        stance, _ = ranking_rule_stance(parse_ranking(own), expected, ranker)
                        total[stance] += 1
                        per[country[a["annotator_id"]]][stance] += 1
        print(line(f"{key:18} {proposal['id'][:8]}", total))
        if key == SPLIT_KEY:
            def share(cnt: Counter[str]) -> float:
                return cnt["supports"] / max(1, cnt["supports"] + cnt["refutes"])

            for name, cnt in sorted(per.items(), key=lambda kv: (-share(kv[1]), kv[0])):
                print("    " + line(f"{name:23}", cnt))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate the files and optionally print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO, help="folder to write into (default: resources/demo)")
    parser.add_argument("--summary", action="store_true", help="print each proposal's crowd picture")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the spec parser, the ranking rule and the interval are the product's own
    data = build(args.out)
    if args.summary:
        summary(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
