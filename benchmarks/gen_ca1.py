"""Write a synthetic CA-1 release of any size (comparisons.jsonl, annotators.jsonl, optionally merged).

Run: .venv/bin/python benchmarks/gen_ca1.py OUT_DIR --assessments N [--seed S] [--merged]

Shapes follow ../shared/data/collective_alignment/FORMAT.md and the real release's proportions:
four responses per prompt, about 17 assessments per prompt, 2 to 39 assessments per annotator,
a world block in every assessment, a personal block in about 27% and an unacceptable block in
about 17%, ties in about a third of the rankings, and rationales in several languages and scripts.
The same assessments appear in both files (as in the real release), so importing both exercises
the merge path. Memory stays flat: contents are derived from (prompt, annotator) on the fly and
only two small index arrays are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from array import array
from pathlib import Path

ASSESSMENTS_PER_PROMPT = 17
PERSONAL_SHARE = 0.27
UNACCEPTABLE_SHARE = 0.17
TIE_SHARE = 0.33

IMPORTANCE = ["Not important", "Somewhat important", "Very important", "Very important (this affects me directly)"]
LIKELIHOOD = ["not at all", "slightly", "moderately", "very", "extremely"]
SUBJECTIVITY = [
    "There is a single correct answer",
    "It depends on values or culture",
    "It depends on something else",
    "Unsure",
]
COUNTRIES = [
    "United States", "Mexico", "Brazil", "India", "Japan", "Kenya", "Nigeria", "Egypt", "Germany",
    "France", "Spain", "United Kingdom", "Philippines", "Indonesia", "South Korea", "Chile", "Canada",
    "Pakistan", "Poland",
]
WORDS = {
    "en": "the answer should respect the user and explain the risks clearly without judging them "
          "because people deserve honest information and a helpful tone matters more than caution".split(),
    "es": "la respuesta debería respetar al usuario y explicar los riesgos con claridad sin juzgar "
          "porque las personas merecen información honesta y un tono útil".split(),
    "ja": "回答 は ユーザー を 尊重 し リスク を 明確 に 説明 する べき です 正直 な 情報 が 大切".split(),
    "ar": "يجب أن تحترم الإجابة المستخدم وتشرح المخاطر بوضوح دون إصدار أحكام لأن الناس يستحقون معلومات صادقة".split(),
    "hi": "उत्तर को उपयोगकर्ता का सम्मान करना चाहिए और जोखिमों को स्पष्ट रूप से समझाना चाहिए".split(),
    "fr": "la réponse devrait respecter l'utilisateur et expliquer clairement les risques sans juger".split(),
    "pt": "a resposta deveria respeitar o usuário e explicar os riscos com clareza sem julgar".split(),
}
LANGUAGES = ["en"] * 12 + ["es", "es", "ja", "ar", "hi", "fr", "pt"]


def _hex_id(kind: str, index: int, seed: int) -> str:
    return hashlib.blake2b(f"{kind}:{seed}:{index}".encode(), digest_size=12).hexdigest()


def _ranking(rng: random.Random) -> str:
    letters = ["A", "B", "C", "D"]
    rng.shuffle(letters)
    seps = [">", ">", ">"]
    if rng.random() < TIE_SHARE:
        seps[rng.randrange(3)] = "="
    return letters[0] + seps[0] + letters[1] + seps[1] + letters[2] + seps[2] + letters[3]


def _text(rng: random.Random, low: int, high: int) -> str:
    words = WORDS[rng.choice(LANGUAGES)]
    return " ".join(rng.choice(words) for _ in range(rng.randint(low, high)))


def assessment(prompt_id: str, annotator_id: str, key: int) -> dict:
    """Return the assessment of prompt ``prompt_id`` by ``annotator_id`` (the same every time)."""
    rng = random.Random(key)
    blocks: dict = {"world": [{"ranking": _ranking(rng), "rationale": _text(rng, 8, 60)}]}
    if rng.random() < PERSONAL_SHARE:
        blocks["personal"] = [{"ranking": _ranking(rng), "rationale": _text(rng, 8, 50)}]
    if rng.random() < UNACCEPTABLE_SHARE:
        bad = rng.sample(["A", "B", "C", "D"], rng.randint(1, 2))
        blocks["unacceptable"] = [{"rating": [f"{x} is unacceptable" for x in bad], "rationale": _text(rng, 5, 30)}]
    return {
        "annotator_id": annotator_id,
        "conversation_id": prompt_id,
        "importance": rng.choice(IMPORTANCE),
        "representativeness": f"It is {rng.choice(LIKELIHOOD)} likely that I would ask a question like this to an AI chatbot.",
        "subjectivity": rng.choice(SUBJECTIVITY),
        "ranking_blocks": blocks,
    }


def _demographics(rng: random.Random) -> dict:
    return {
        "age": rng.choice(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]),
        "gender": rng.choice(["Female", "Male", "Non-binary", "Prefer not to say"]),
        "education_level": rng.choice(["Secondary", "Bachelor's degree", "Master's degree", "Doctorate"]),
        "country_of_residence": rng.choice(COUNTRIES),
        "generative_ai_usage": rng.choice(["Daily", "Weekly", "Monthly", "Never"]),
        "ai_concern_level": rng.choice(["Not concerned", "Somewhat concerned", "Very concerned"]),
        "ideal-model-behavior": _text(rng, 10, 40),
    }


def _plan(assessments: int, seed: int) -> tuple[int, list[int], array, array]:
    """Return (prompts, per-annotator counts, assessment prompt indexes, assessment annotator indexes)."""
    rng = random.Random(seed)
    prompts = max(1, assessments // ASSESSMENTS_PER_PROMPT)
    counts: list[int] = []
    left = assessments
    while left > 0:
        n = min(left, rng.randint(2, 39), prompts)
        if left - n == 1:  # never leave one assessment for a last annotator
            n = n - 1 if n > 2 else n + 1
        counts.append(n)
        left -= n
    prompt_of = array("I")
    annotator_of = array("I")
    for annotator, n in enumerate(counts):
        for p in rng.sample(range(prompts), n) if n * 4 > prompts else _distinct(rng, prompts, n):
            prompt_of.append(p)
            annotator_of.append(annotator)
    return prompts, counts, prompt_of, annotator_of


def _distinct(rng: random.Random, prompts: int, n: int) -> list[int]:
    chosen: set[int] = set()
    while len(chosen) < n:
        chosen.add(rng.randrange(prompts))
    return list(chosen)


def generate(out: Path, assessments: int, *, seed: int = 1, merged: bool = False) -> dict[str, Path]:
    """Write a synthetic release into ``out``; return the paths written by kind."""
    out.mkdir(parents=True, exist_ok=True)
    prompts, counts, prompt_of, annotator_of = _plan(assessments, seed)
    total = len(prompt_of)
    # Group assessment indexes by prompt with a counting sort (flat arrays, no per-prompt lists).
    starts = array("I", [0] * (prompts + 1))
    for p in prompt_of:
        starts[p + 1] += 1
    for p in range(prompts):
        starts[p + 1] += starts[p]
    by_prompt = array("I", [0] * total)
    fill = array("I", starts[:-1])
    for index, p in enumerate(prompt_of):
        by_prompt[fill[p]] = index
        fill[p] += 1
    del fill
    prompt_ids = [_hex_id("prompt", i, seed) for i in range(prompts)]
    annotator_ids = [_hex_id("annotator", i, seed) for i in range(len(counts))]
    paths = {"comparisons": out / "comparisons.jsonl", "annotators": out / "annotators.jsonl"}

    def key(index: int) -> int:
        return seed * 1_000_000_007 + index

    with open(paths["comparisons"], "w", encoding="utf-8", newline="\n") as handle:
        for p in range(prompts):
            rng = random.Random(key(-p - 1))
            pid = prompt_ids[p]
            line = {
                "prompt_id": pid,
                "prompt": {"id": pid, "messages": [{"role": "user", "content": _text(rng, 10, 80)}]},
                "responses": [
                    {"response_index": letter, "messages": [{"role": "assistant", "content": _text(rng, 60, 300)}]}
                    for letter in "ABCD"
                ],
                "metadata": {"assessments": [
                    assessment(pid, annotator_ids[annotator_of[i]], key(i))
                    for i in by_prompt[starts[p]:starts[p + 1]]
                ]},
            }
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    with open(paths["annotators"], "w", encoding="utf-8", newline="\n") as handle:
        index = 0
        for annotator, n in enumerate(counts):
            aid = annotator_ids[annotator]
            line = {
                "annotator_id": aid,
                "demographics": _demographics(random.Random(key(-prompts - 1 - annotator))),
                "assessments": [
                    assessment(prompt_ids[prompt_of[i]], aid, key(i)) for i in range(index, index + n)
                ],
            }
            index += n
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    if merged:
        paths["merged"] = out / "merged_comparisons_annotators.jsonl"
        with open(paths["merged"], "w", encoding="utf-8", newline="\n") as handle:
            for i in range(total):
                annotator = annotator_of[i]
                record = assessment(prompt_ids[prompt_of[i]], annotator_ids[annotator], key(i))
                record.pop("conversation_id")
                record["prompt_id"] = prompt_ids[prompt_of[i]]
                record["demographics"] = _demographics(random.Random(key(-prompts - 1 - annotator)))
                record["country"] = record["demographics"]["country_of_residence"]  # a convenience field
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write into")
    parser.add_argument("--assessments", type=int, default=18_384, help="assessments in the release")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--merged", action="store_true", help="also write merged_comparisons_annotators.jsonl")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = generate(args.out, args.assessments, seed=args.seed, merged=args.merged)
    for kind, path in paths.items():
        print(f"{kind:<12} {path}  {path.stat().st_size / 1e6:,.1f} MB")
    print(f"{args.assessments:,} assessments in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
