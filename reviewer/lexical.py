"""Relevance without a model: BM25 of each conversation against each spec section, mapped to grades 1–5.

The sections are the BM25 corpus (k1 = 1.5, b = 0.75, IDF = ln(1 + (N - df + 0.5) / (df + 0.5))); a
conversation's prompt and responses are the query (each distinct word once). Scores are not on a
fixed scale, so they are graded by where they fall among all the positive scores of the same run:
top 1% → 5, next 4% → 4, next 10% → 3, the rest of the positive scores → 2, no shared word → 1.
The grades are stored with ``grader_kind = "rule"`` and ``grader = "bm25-v1"`` so that a person's or a
model's grade always takes precedence. Grading the workspace again replaces the earlier rule grades.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reviewer import audit
from reviewer.digests import EMPTY, writer_rows_digest
from reviewer.errors import KnownError
from reviewer.ids import new_id, stable_id, utc_now
from reviewer.judges.data import prompt_messages, response_messages
from reviewer.progress import NoProgress, Progress
from reviewer.spec import Section, SpecDocument
from reviewer.store import APP_ACTOR, Store, sql_errors

GRADER = "bm25-v1"
K1 = 1.5
B = 0.75
# Upper shares of the positive scores that get grades 5, 4 and 3 (the rest of the positive ones get 2).
GRADE_SHARES = ((5, 0.01), (4, 0.05), (3, 0.15))
_WORD = re.compile(r"\w+", re.UNICODE)
_MARKUP = re.compile(r"\{#[^}]*\}|<[^>\n]{1,200}>|\[\^[^\]]*\]|\(#[^)]*\)")
_STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves also may might must shall one use used
""".split())


def tokens(text: str) -> list[str]:
    """Return the words of ``text`` for matching: lower case, markup and stop words removed."""
    return [w for w in _WORD.findall(_MARKUP.sub(" ", text).lower()) if len(w) > 1 and w not in _STOPWORDS]


class BM25:
    """BM25 weights of a fixed set of documents (the spec sections), scoring queries against all of them.

    Attributes:
        vocabulary: word to column.
        weights: documents × words matrix of BM25 term weights (IDF × saturated term frequency).
    """

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> None:
        self.vocabulary: dict[str, int] = {}
        for doc in documents:
            for word in doc:
                self.vocabulary.setdefault(word, len(self.vocabulary))
        n_docs, n_words = len(documents), len(self.vocabulary)
        tf = np.zeros((n_docs, n_words), dtype=np.float64)
        for i, doc in enumerate(documents):
            cols = np.fromiter((self.vocabulary[w] for w in doc), dtype=np.int64, count=len(doc))
            np.add.at(tf[i], cols, 1.0)
        lengths = tf.sum(axis=1)
        average = lengths.mean() if n_docs and lengths.mean() > 0 else 1.0
        df = (tf > 0).sum(axis=0)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * lengths / average)
        self.weights = idf[None, :] * tf * (k1 + 1) / (tf + norm[:, None])

    def scores(self, queries: Sequence[Sequence[str]]) -> np.ndarray:
        """Return the queries × documents score matrix (each distinct query word counted once)."""
        matrix = np.zeros((len(queries), len(self.vocabulary)), dtype=np.float64)
        for i, query in enumerate(queries):
            cols = [self.vocabulary[w] for w in set(query) if w in self.vocabulary]
            matrix[i, cols] = 1.0
        return matrix @ self.weights.T


def grades_from_scores(scores: np.ndarray) -> np.ndarray:
    """Map BM25 scores to 1–5 by their rank among the positive scores (see the module docstring)."""
    grades = np.ones(scores.shape, dtype=np.int64)
    positive = scores[scores > 0]
    if positive.size == 0:
        return grades
    grades[scores > 0] = 2
    for grade, share in reversed(GRADE_SHARES):  # 3, then 4, then 5 overwrite the lower ones
        threshold = np.quantile(positive, 1 - share)
        grades[(scores > 0) & (scores >= threshold)] = grade
    return grades


def conversation_text(prompt: str, responses: str) -> str:
    """Return the plain text of a stored conversation and its responses."""
    parts = [text for _role, text in prompt_messages(prompt)]
    for _letter, messages in sorted(response_messages(responses).items()):
        parts.extend(text for _role, text in messages)
    return "\n".join(parts)


@dataclass(frozen=True)
class LexicalSummary:
    """What a lexical grading run wrote.

    Attributes:
        grader: ``bm25-v1``.
        conversations: conversations graded.
        sections: sections graded against.
        grades: grades written.
        by_grade: how many of each grade 1–5.
    """

    grader: str
    conversations: int
    sections: int
    grades: int
    by_grade: dict[int, int]


def _section_words(section: Section) -> list[str]:
    return tokens(f"{section.title}\n{section.text}")


def grade_lexical(store: Store, spec: SpecDocument, *, spec_revision: str | None = None,
                  progress: Progress | None = None, actor: str = APP_ACTOR, chunk: int = 2000) -> LexicalSummary:
    """Grade every conversation against every section with an id, by BM25, and store the grades.

    Earlier ``bm25-v1`` grades are replaced in the same transaction (with one audit event), because
    the mapping to grades depends on all the conversations graded together.

    Raises:
        KnownError: the workspace has no conversations, or the spec no section with an id.
    """
    progress = progress or NoProgress()
    sections = [s for s in spec.sections if s.id]
    if not sections:
        raise KnownError("The spec has no section with an id to grade against.")
    with sql_errors("reading conversations"):
        conversations = store.db.execute("SELECT id, prompt, responses FROM conversations ORDER BY id").fetchall()
    if not conversations:
        raise KnownError("This workspace has no conversations to grade.", hint="Import crowd data first.")
    index = BM25([_section_words(s) for s in sections])
    progress.start(len(conversations) + 1, "Grading relevance (BM25)")
    parts = []
    for start in range(0, len(conversations), chunk):
        batch = conversations[start:start + chunk]
        parts.append(index.scores([tokens(conversation_text(p, r)) for _id, p, r in batch]))
        progress.tick(len(batch))
    scores = np.vstack(parts)
    grades = grades_from_scores(scores)
    now = utc_now()
    section_ids = [s.id for s in sections if s.id]
    rows = [
        (stable_id("rule-relevance", GRADER, conversations[i][0], section_ids[j]), conversations[i][0],
         section_ids[j], int(grades[i, j]), now)
        for i in range(len(conversations)) for j in range(len(section_ids))
    ]
    run_id = new_id()
    with sql_errors("saving relevance grades"), store.db.atomic():
        # The run names itself on its rows (``import_id``), and its event carries their digest, as an
        # import's does: audit verify checks them, and another machine rebuilds them from the log.
        replaced = [str(r[0]) for r in store.db.execute(
            "SELECT DISTINCT import_id FROM relevance_grades WHERE grader_kind = 'rule' AND grader = ?"
            " AND import_id IS NOT NULL", [GRADER])]
        store.db.execute("DELETE FROM relevance_grades WHERE grader_kind = 'rule' AND grader = ?", [GRADER])
        store.db.conn.executemany(
            "INSERT INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader, created_at,"
            f" import_id) VALUES (?, ?, ?, ?, 'rule', '{GRADER}', ?, ?)", [(*row, run_id) for row in rows])
        by_grade = {g: int((grades == g).sum()) for g in range(1, 6)}
        audit.append_event(store.db, actor=actor, action="relevance.lexical", object_type="relevance",
                           object_id=run_id, payload={
                               "grader": GRADER, "conversations": len(conversations), "sections": len(section_ids),
                               "grades": len(rows), "by_grade": by_grade, "spec_revision": spec_revision,
                               "digests": {"relevance_grades": writer_rows_digest(
                                   store.db.conn, "relevance_grades", run_id).to_json()},
                               "rewrote": {old: {"relevance_grades": EMPTY.to_json()} for old in sorted(replaced)},
                           })
    progress.tick()
    progress.finish()
    return LexicalSummary(grader=GRADER, conversations=len(conversations), sections=len(section_ids),
                          grades=len(rows), by_grade=by_grade)
