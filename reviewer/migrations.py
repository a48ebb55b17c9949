"""The database schema, changed only through this ``Migrations`` set (applied when a workspace opens)."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATION_SET = "reviewer"

migrations = Migrations(MIGRATION_SET)


@migrations(name="0001_core_objects")
def m0001_core_objects(db: Database) -> None:
    """Create the core objects of the product brief.

    Ids are UUID strings; times are ISO-8601 UTC strings. Free-form extras are JSON text so that
    nothing in imported input is dropped.
    """
    db.executescript(
        """
        CREATE TABLE workspace_info (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE members (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            roles TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        );
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            source_id TEXT NOT NULL,
            prompt TEXT NOT NULL,
            responses TEXT NOT NULL,
            extra TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            UNIQUE (source, source_id)
        );
        CREATE TABLE participants (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            source_id TEXT NOT NULL,
            demographics TEXT NOT NULL DEFAULT '{}',
            extra TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            UNIQUE (source, source_id)
        );
        CREATE TABLE assessments (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id),
            participant_id TEXT NOT NULL REFERENCES participants(id),
            importance TEXT,
            representativeness TEXT,
            subjectivity TEXT,
            personal_ranking TEXT,
            world_ranking TEXT,
            unacceptable TEXT NOT NULL DEFAULT '[]',
            extra TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            UNIQUE (conversation_id, participant_id)
        );
        CREATE INDEX assessments_participant ON assessments(participant_id);
        CREATE TABLE justifications (
            id TEXT PRIMARY KEY,
            assessment_id TEXT REFERENCES assessments(id),
            block TEXT NOT NULL CHECK (block IN ('personal', 'world', 'unacceptable', 'statement')),
            position INTEGER NOT NULL DEFAULT 0,
            ranking TEXT,
            text TEXT NOT NULL,
            language TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX justifications_assessment ON justifications(assessment_id);
        CREATE TABLE ranker_runs (
            id TEXT PRIMARY KEY,
            spec_revision TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_version TEXT,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE ranker_rankings (
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES ranker_runs(id),
            conversation_id TEXT NOT NULL REFERENCES conversations(id),
            ranking TEXT NOT NULL,
            reason TEXT,
            UNIQUE (run_id, conversation_id)
        );
        CREATE TABLE relevance_grades (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id),
            section_id TEXT NOT NULL,
            grade INTEGER NOT NULL CHECK (grade BETWEEN 1 AND 5),
            grader_kind TEXT NOT NULL CHECK (grader_kind IN ('person', 'model', 'rule')),
            grader TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX relevance_section ON relevance_grades(section_id, grade);
        CREATE TABLE proposals (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            intent TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('clarification', 'principle')),
            origin TEXT NOT NULL CHECK (origin IN
                ('automated-batch', 'automated-single', 'human-first', 'imported')),
            base_revision TEXT NOT NULL,
            expected_ranking TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            extra TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE proposal_sections (
            proposal_id TEXT NOT NULL REFERENCES proposals(id),
            position INTEGER NOT NULL,
            section_id TEXT NOT NULL,
            base_text TEXT NOT NULL,
            new_text TEXT NOT NULL,
            PRIMARY KEY (proposal_id, position)
        );
        CREATE INDEX proposal_sections_section ON proposal_sections(section_id);
        CREATE TABLE proposal_conversations (
            proposal_id TEXT NOT NULL REFERENCES proposals(id),
            conversation_id TEXT NOT NULL REFERENCES conversations(id),
            PRIMARY KEY (proposal_id, conversation_id)
        );
        CREATE TABLE stance_labels (
            id TEXT PRIMARY KEY,
            proposal_id TEXT NOT NULL REFERENCES proposals(id),
            justification_id TEXT NOT NULL REFERENCES justifications(id),
            stance TEXT NOT NULL CHECK (stance IN ('supports', 'refutes', 'no_comment')),
            source_kind TEXT NOT NULL CHECK (source_kind IN ('person', 'model', 'rule')),
            source_name TEXT NOT NULL,
            prompt_version TEXT,
            confidence REAL,
            quote TEXT,
            detail TEXT NOT NULL DEFAULT '{}',
            supersedes TEXT REFERENCES stance_labels(id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX stance_labels_link ON stance_labels(proposal_id, justification_id);
        CREATE TABLE decisions (
            id TEXT PRIMARY KEY,
            proposal_id TEXT NOT NULL REFERENCES proposals(id),
            outcome TEXT NOT NULL CHECK (outcome IN ('adopt', 'defer', 'set_aside')),
            reason_category TEXT,
            rationale TEXT NOT NULL CHECK (length(trim(rationale)) > 0),
            reviewer TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            commit_sha TEXT
        );
        CREATE INDEX decisions_proposal ON decisions(proposal_id, decided_at);
        CREATE TABLE spec_commits (
            sha TEXT PRIMARY KEY,
            editor TEXT NOT NULL,
            proposal_ids TEXT NOT NULL DEFAULT '[]',
            decision_ids TEXT NOT NULL DEFAULT '[]',
            committed_at TEXT NOT NULL
        );
        CREATE TABLE audit_events (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            object_type TEXT NOT NULL,
            object_id TEXT,
            payload TEXT NOT NULL DEFAULT '{}',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        """
    )
