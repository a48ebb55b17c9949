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


@migrations(name="0002_crowd_import")
def m0002_crowd_import(db: Database) -> None:
    """Crowd imports: quarantined input rows, Pol.is statements and votes, and content hashes.

    ``content_hash`` is the hash of the first imported copy of a CA-1 conversation, participant
    or assessment (NULL for a participant known only by id so far): a re-import with the same hash
    adds nothing, a different one is compared field by field and the difference is recorded.
    ``justifications.extra`` keeps the keys of a ranking-block entry that have no column.
    """
    db.executescript(
        """
        ALTER TABLE conversations ADD COLUMN content_hash TEXT;
        ALTER TABLE participants ADD COLUMN content_hash TEXT;
        ALTER TABLE assessments ADD COLUMN content_hash TEXT;
        ALTER TABLE justifications ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
        CREATE TABLE quarantine (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            file TEXT NOT NULL,
            line INTEGER NOT NULL,
            item TEXT,
            reason TEXT NOT NULL,
            raw TEXT NOT NULL,
            import_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX quarantine_import ON quarantine(import_id);
        CREATE TABLE polis_statements (
            justification_id TEXT PRIMARY KEY REFERENCES justifications(id),
            conversation_key TEXT NOT NULL,
            comment_id TEXT NOT NULL,
            author_id TEXT,
            timestamp INTEGER,
            datetime TEXT,
            agrees INTEGER,
            disagrees INTEGER,
            moderated INTEGER CHECK (moderated IN (-1, 0, 1)),
            extra TEXT NOT NULL DEFAULT '{}',
            UNIQUE (conversation_key, comment_id)
        );
        CREATE TABLE votes (
            statement_id TEXT NOT NULL REFERENCES justifications(id),
            participant_id TEXT NOT NULL REFERENCES participants(id),
            vote INTEGER NOT NULL CHECK (vote IN (-1, 0, 1)),
            PRIMARY KEY (statement_id, participant_id)
        ) WITHOUT ROWID;
        CREATE INDEX votes_participant ON votes(participant_id);
        """
    )


@migrations(name="0003_evidence")
def m0003_evidence(db: Database) -> None:
    """Evidence links: hand links with their history, and a materialised "current stance" per link.

    ``evidence_current`` holds one row per linked (proposal, justification) with its effective
    label, so that counts for a proposal are one covering-index scan. Triggers keep it in step in
    the same transaction as every write that changes it, whoever writes: a proposal linked to
    conversations, justifications imported later for a linked conversation, and every new stance
    label. Hand links (``evidence_hand_links``) are written by ``reviewer.evidence``, which also
    adds or removes their ``evidence_current`` row; their history is never deleted.
    """
    # The effective label of a link: the latest person label, else the latest model label, else
    # the latest rule label ("latest" = created_at, then insertion order).
    effective_new = """
        SELECT s.id, s.stance, s.source_kind, s.source_name FROM stance_labels s
        WHERE s.proposal_id = NEW.proposal_id AND s.justification_id = NEW.justification_id
        ORDER BY CASE s.source_kind WHEN 'person' THEN 0 WHEN 'model' THEN 1 ELSE 2 END,
                 s.created_at DESC, s.rowid DESC
        LIMIT 1
    """
    db.executescript(
        f"""
        CREATE TABLE evidence_hand_links (
            id TEXT PRIMARY KEY,
            proposal_id TEXT NOT NULL REFERENCES proposals(id),
            justification_id TEXT NOT NULL REFERENCES justifications(id),
            action TEXT NOT NULL CHECK (action IN ('link', 'unlink')),
            person TEXT NOT NULL,
            note TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX evidence_hand_links_pair ON evidence_hand_links(proposal_id, justification_id);
        CREATE TABLE evidence_current (
            proposal_id TEXT NOT NULL,
            justification_id TEXT NOT NULL,
            via TEXT NOT NULL CHECK (via IN ('conversation', 'hand')),
            label_id TEXT,
            stance TEXT,
            source_kind TEXT,
            source_name TEXT,
            PRIMARY KEY (proposal_id, justification_id)
        ) WITHOUT ROWID;
        CREATE INDEX evidence_current_counts
            ON evidence_current(proposal_id, stance, source_kind, source_name);
        CREATE INDEX proposal_conversations_conversation ON proposal_conversations(conversation_id);
        CREATE INDEX ranker_rankings_conversation ON ranker_rankings(conversation_id);
        CREATE INDEX relevance_conversation ON relevance_grades(conversation_id, section_id);

        CREATE TRIGGER evidence_link_new_justification AFTER INSERT ON justifications
        WHEN NEW.assessment_id IS NOT NULL
        BEGIN
            INSERT INTO evidence_current (proposal_id, justification_id, via)
            SELECT pc.proposal_id, NEW.id, 'conversation'
            FROM assessments a JOIN proposal_conversations pc ON pc.conversation_id = a.conversation_id
            WHERE a.id = NEW.assessment_id
              AND NOT EXISTS (SELECT 1 FROM evidence_current e
                              WHERE e.proposal_id = pc.proposal_id AND e.justification_id = NEW.id);
        END;

        CREATE TRIGGER evidence_link_new_conversation AFTER INSERT ON proposal_conversations
        BEGIN
            INSERT INTO evidence_current (proposal_id, justification_id, via)
            SELECT NEW.proposal_id, j.id, 'conversation'
            FROM assessments a JOIN justifications j ON j.assessment_id = a.id
            WHERE a.conversation_id = NEW.conversation_id
              AND NOT EXISTS (SELECT 1 FROM evidence_current e
                              WHERE e.proposal_id = NEW.proposal_id AND e.justification_id = j.id);
        END;

        CREATE TRIGGER evidence_current_new_link AFTER INSERT ON evidence_current
        WHEN EXISTS (SELECT 1 FROM stance_labels s
                     WHERE s.proposal_id = NEW.proposal_id AND s.justification_id = NEW.justification_id)
        BEGIN
            UPDATE evidence_current SET (label_id, stance, source_kind, source_name) = ({effective_new})
            WHERE proposal_id = NEW.proposal_id AND justification_id = NEW.justification_id;
        END;

        CREATE TRIGGER evidence_current_new_label AFTER INSERT ON stance_labels
        BEGIN
            UPDATE evidence_current SET (label_id, stance, source_kind, source_name) = ({effective_new})
            WHERE proposal_id = NEW.proposal_id AND justification_id = NEW.justification_id;
        END;

        -- Workspaces that already hold links and labels get their current stances now.
        INSERT INTO evidence_current (proposal_id, justification_id, via)
        SELECT DISTINCT pc.proposal_id, j.id, 'conversation'
        FROM proposal_conversations pc
        JOIN assessments a ON a.conversation_id = pc.conversation_id
        JOIN justifications j ON j.assessment_id = a.id;
        """
    )


@migrations(name="0004_governance")
def m0004_governance(db: Database) -> None:
    """Governance: member role history, quorum per authority level, commit state, decision context.

    ``quorum_settings`` holds every level explicitly (defaults: 2 for root and system, and for
    sections that declare no authority, such as the overview; 1 otherwise), so a later change of
    the defaults in code never changes a workspace's rules. ``proposal_commit_state`` says whether
    an adopted proposal was committed or needs a rebase. Decisions record the authority level and
    quorum that applied and the status they led to. The audit head record (``workspace_info``
    ``audit_head``) and the anchor file start here; see ``reviewer.audit``.
    """
    from reviewer import audit
    from reviewer.ids import utc_now

    now = utc_now()
    db.executescript(
        """
        CREATE TABLE member_role_changes (
            id TEXT PRIMARY KEY,
            member_id TEXT NOT NULL REFERENCES members(id),
            role TEXT NOT NULL CHECK (role IN ('reviewer', 'editor', 'auditor')),
            change TEXT NOT NULL CHECK (change IN ('add', 'remove')),
            changed_by TEXT NOT NULL,
            changed_at TEXT NOT NULL
        );
        CREATE INDEX member_role_changes_member ON member_role_changes(member_id, changed_at);
        CREATE TABLE quorum_settings (
            level TEXT PRIMARY KEY
                CHECK (level IN ('root', 'system', 'developer', 'user', 'guideline', 'none')),
            quorum INTEGER NOT NULL CHECK (quorum >= 1),
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL
        );
        CREATE TABLE proposal_commit_state (
            proposal_id TEXT PRIMARY KEY REFERENCES proposals(id),
            state TEXT NOT NULL CHECK (state IN ('committed', 'needs_rebase')),
            commit_sha TEXT,
            spec_revision TEXT,
            detail TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        );
        ALTER TABLE decisions ADD COLUMN authority TEXT;
        ALTER TABLE decisions ADD COLUMN quorum INTEGER;
        ALTER TABLE decisions ADD COLUMN status_after TEXT;
        ALTER TABLE decisions ADD COLUMN spec_revision TEXT;
        CREATE INDEX decisions_commit ON decisions(commit_sha);
        ALTER TABLE spec_commits ADD COLUMN kind TEXT NOT NULL DEFAULT 'proposal'
            CHECK (kind IN ('proposal', 'release'));
        ALTER TABLE spec_commits ADD COLUMN parent_sha TEXT;
        ALTER TABLE spec_commits ADD COLUMN release_tag TEXT;
        ALTER TABLE spec_commits ADD COLUMN merged_sections TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE spec_commits ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0;
        """
    )
    db.conn.executemany(
        "INSERT INTO quorum_settings (level, quorum, updated_at, updated_by) VALUES (?, ?, ?, 'spec-review')",
        [(level, quorum, now) for level, quorum in
         (("root", 2), ("system", 2), ("developer", 1), ("user", 1), ("guideline", 1), ("none", 1))],
    )
    head = audit.head_of(db)
    audit.write_head_record(db, head.seq, head.hash)
    audit.refresh_anchor(db)


@migrations(name="0005_models")
def m0005_models(db: Database) -> None:
    """Add the model-judge cache, the judge jobs (for resume) and the failures with raw answers.

    The cache is keyed by (task, prompt version, model, input hash), so running the same work again
    costs no model call. No API key is ever stored: only the endpoint URL, without credentials.
    """
    db.executescript(
        """
        CREATE TABLE judge_cache (
            task TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            model TEXT NOT NULL,
            input_hash TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
            raw TEXT,
            result TEXT,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            PRIMARY KEY (task, prompt_version, model, input_hash)
        );
        CREATE TABLE judge_jobs (
            id TEXT PRIMARY KEY,
            job_key TEXT NOT NULL,
            task TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            model TEXT NOT NULL,
            endpoint TEXT,
            spec_revision TEXT,
            params TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL CHECK (status IN ('running', 'cancelled', 'failed', 'done')),
            ranker_run_id TEXT REFERENCES ranker_runs(id),
            items_total INTEGER NOT NULL DEFAULT 0,
            items_done INTEGER NOT NULL DEFAULT 0,
            items_failed INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX judge_jobs_key ON judge_jobs(job_key, created_at);
        CREATE TABLE judge_job_items (
            job_id TEXT NOT NULL REFERENCES judge_jobs(id),
            item_key TEXT NOT NULL,
            input_hash TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (job_id, item_key)
        ) WITHOUT ROWID;
        CREATE TABLE judge_failures (
            id TEXT PRIMARY KEY,
            job_id TEXT REFERENCES judge_jobs(id),
            task TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            model TEXT NOT NULL,
            input_hash TEXT NOT NULL,
            item_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            error TEXT NOT NULL,
            raw TEXT,
            attempts INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX judge_failures_job ON judge_failures(job_id);
        """
    )


@migrations(name="0006_audit_indexes")
def m0006_audit_indexes(db: Database) -> None:
    """Index the audit log for the auditor's filters (action, actor, object, time) on long logs."""
    db.executescript(
        """
        CREATE INDEX audit_events_action ON audit_events(action, seq);
        CREATE INDEX audit_events_actor ON audit_events(actor, seq);
        CREATE INDEX audit_events_object_id ON audit_events(object_id, seq);
        CREATE INDEX audit_events_object_type ON audit_events(object_type, seq);
        CREATE INDEX audit_events_at ON audit_events(at);
        """
    )


@migrations(name="0007_evidence_participant")
def m0007_evidence_participant(db: Database) -> None:
    """Keep each link's participant beside its stance, so the split by a demographic field is one indexed join.

    Without it, splitting 50,000 links by country walks justification → assessment → participant
    for every link (~0.5 s); with it, ~10 ms. Statements linked by hand have no participant (NULL).
    """
    db.executescript(
        """
        ALTER TABLE evidence_current ADD COLUMN participant_id TEXT;
        UPDATE evidence_current SET participant_id = (
            SELECT a.participant_id FROM justifications j JOIN assessments a ON a.id = j.assessment_id
            WHERE j.id = evidence_current.justification_id);
        CREATE TRIGGER evidence_current_participant AFTER INSERT ON evidence_current
        WHEN NEW.participant_id IS NULL
        BEGIN
            UPDATE evidence_current SET participant_id = (
                SELECT a.participant_id FROM justifications j JOIN assessments a ON a.id = j.assessment_id
                WHERE j.id = NEW.justification_id)
            WHERE proposal_id = NEW.proposal_id AND justification_id = NEW.justification_id;
        END;
        CREATE INDEX evidence_current_split ON evidence_current(proposal_id, participant_id, stance);
        """
    )


@migrations(name="0008_statement_author")
def m0008_statement_author(db: Database) -> None:
    """Give a Pol.is statement's link its author as participant, so it counts in the split by opinion group.

    A statement has no assessment; its participant is the one who wrote it (``author_id`` in the
    export, a ``participants`` row with ``source_id`` ``<conversation key>/<author id>``). Links made
    before this migration are filled in; the trigger fills in later ones.
    """
    author = (
        "SELECT p.id FROM polis_statements s JOIN participants p"
        " ON p.source = 'polis' AND p.source_id = s.conversation_key || '/' || s.author_id"
        " WHERE s.justification_id = {justification}"
    )
    db.executescript(
        f"""
        DROP TRIGGER evidence_current_participant;
        CREATE TRIGGER evidence_current_participant AFTER INSERT ON evidence_current
        WHEN NEW.participant_id IS NULL
        BEGIN
            UPDATE evidence_current SET participant_id = COALESCE(
                (SELECT a.participant_id FROM justifications j JOIN assessments a ON a.id = j.assessment_id
                 WHERE j.id = NEW.justification_id),
                ({author.format(justification="NEW.justification_id")}))
            WHERE proposal_id = NEW.proposal_id AND justification_id = NEW.justification_id;
        END;
        UPDATE evidence_current SET participant_id = ({author.format(justification="evidence_current.justification_id")})
        WHERE participant_id IS NULL;
        """
    )


@migrations(name="0009_decision_evidence")
def m0009_decision_evidence(db: Database) -> None:
    """Keep with each decision the evidence it was made on (JSON: counts, sources, share, split, digest).

    Decisions recorded before this migration have none (NULL): what their reviewers saw was not kept.
    """
    db.execute("ALTER TABLE decisions ADD COLUMN evidence TEXT")


@migrations(name="0010_row_writers")
def m0010_row_writers(db: Database) -> None:
    """Say which logged change wrote each row that the log vouches for by digest (see ``reviewer.digests``).

    ``import_id`` on the crowd tables (and on relevance grades and ranker runs and rankings, which
    the product's own formats import) names the import that last wrote the row; ``written_by`` on
    stance labels names the ranking-rule run or stance import that stored a rule, model or imported
    label. Each import's and rule run's audit event carries the digest of its rows, and ``audit
    verify`` finds them again through these columns. Rows written before this migration have NULL:
    what their older events say is not enough to check them.

    The indexes cost an import little: every row of one import has the same key, so new entries
    are appended at the end.
    """
    tables = ("conversations", "participants", "assessments", "justifications", "polis_statements", "votes",
              "relevance_grades", "ranker_runs", "ranker_rankings")
    for table in tables:
        db.execute(f"ALTER TABLE {table} ADD COLUMN import_id TEXT")
        db.execute(f"CREATE INDEX {table}_import ON {table}(import_id)")
    db.execute("ALTER TABLE stance_labels ADD COLUMN written_by TEXT")
    db.execute("CREATE INDEX stance_labels_written_by ON stance_labels(written_by)")


@migrations(name="0011_member_identity")
def m0011_member_identity(db: Database) -> None:
    """Give each member an optional git identity: the email their log commits are authored with, and a signing key.

    ``signing_key`` is what the member signs with, as they gave it (a key's fingerprint or its public
    key text). Members added before this migration have neither (NULL), as their events say.
    """
    db.execute("ALTER TABLE members ADD COLUMN email TEXT")
    db.execute("ALTER TABLE members ADD COLUMN signing_key TEXT")


@migrations(name="0012_proposal_revisions")
def m0012_proposal_revisions(db: Database) -> None:
    """Keep every revision of a proposal, and say which revision each decision was made on.

    ``proposal_revisions`` holds each revision whole (title, intent, kind, base commit and section
    texts as JSON ``[[section_id, base_text, new_text], ...]``); ``proposals`` and
    ``proposal_sections`` hold the current one, as before. ``proposals.revision`` is the current
    revision's number and ``votes_from`` the first revision whose votes still count (the last one
    with new text: a rebase that only carried the same change onto a newer spec keeps the votes).
    A decision's ``proposal_revision`` is the revision its reviewer decided on; decisions recorded
    before this migration keep NULL, as their events say nothing of it: they were made on revision 1,
    the only one there was.
    """
    db.executescript(
        """
        ALTER TABLE proposals ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE proposals ADD COLUMN votes_from INTEGER NOT NULL DEFAULT 1;
        CREATE TABLE proposal_revisions (
            proposal_id TEXT NOT NULL REFERENCES proposals(id),
            revision INTEGER NOT NULL CHECK (revision >= 1),
            kind TEXT NOT NULL CHECK (kind IN ('written', 'edit', 'rebase', 'resolve')),
            title TEXT NOT NULL,
            intent TEXT NOT NULL,
            proposal_kind TEXT NOT NULL,
            base_revision TEXT NOT NULL,
            sections TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            PRIMARY KEY (proposal_id, revision)
        );
        ALTER TABLE decisions ADD COLUMN proposal_revision INTEGER;
        INSERT INTO proposal_revisions (proposal_id, revision, kind, title, intent, proposal_kind, base_revision,
                                        sections, created_at, created_by)
        SELECT p.id, 1, 'written', p.title, p.intent, p.kind, p.base_revision,
               (SELECT json_group_array(json_array(s.section_id, s.base_text, s.new_text))
                FROM (SELECT * FROM proposal_sections s WHERE s.proposal_id = p.id ORDER BY position) s),
               p.created_at, p.created_by
        FROM proposals p;
        """
    )


@migrations(name="0013_discussion")
def m0013_discussion(db: Database) -> None:
    """Discussion threads on proposals (``reviewer.discussion``): a thread and its comments, every row logged.

    A thread is named by its first comment's id and has a target: the proposal, one of its sections
    (``section_id``), or one of its justifications (``justification_id``; not a foreign key, since a
    hand link can be removed and the discussion stays). ``resolved_by``/``resolved_at`` are NULL while
    the thread is open. Comments are never edited; ``mentions`` is a JSON list of the members' names
    the text mentions, as resolved when it was written (the log carries the same list).
    """
    db.executescript(
        """
        CREATE TABLE comment_threads (
            id TEXT PRIMARY KEY,
            proposal_id TEXT NOT NULL REFERENCES proposals(id),
            section_id TEXT,
            justification_id TEXT,
            started_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            resolved_by TEXT,
            resolved_at TEXT
        );
        CREATE INDEX comment_threads_proposal ON comment_threads(proposal_id, created_at);
        CREATE TABLE comments (
            id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL REFERENCES comment_threads(id),
            author TEXT NOT NULL,
            text TEXT NOT NULL,
            mentions TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL
        );
        CREATE INDEX comments_thread ON comments(thread_id, created_at);
        """
    )


@migrations(name="0014_candidates")
def m0014_candidates(db: Database) -> None:
    """Candidate edits from the automated loop (``reviewer.propose``), kept or rejected, every one with why.

    One row per candidate a model proposed for a section: the model and prompt that wrote it, the
    conversations it was written from (``conversations``) and the held-out ones it was also tested
    on (``holdout``), both JSON lists of conversation ids; the ranker model and prompt that re-ranked
    them; the pairwise agreement with the crowd before and under the edit, and the paired change, each
    with its bootstrap interval (NULL when the edit was never tested: a malformed one); and whether it
    was kept (``proposal_id`` names the proposal it became), rejected, or merged with an earlier
    candidate that changes the section in nearly the same way (``merged_with``; its proposal is the
    earlier one's). ``run_id`` names the propose run that wrote the row: its ``propose.record``
    event vouches for the run's rows by digest, as an import's does.
    """
    db.executescript(
        """
        CREATE TABLE candidates (
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('batch', 'single')),
            section_id TEXT NOT NULL,
            spec_revision TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_version TEXT NOT NULL,
            input_hash TEXT NOT NULL,
            ranker_model TEXT NOT NULL,
            ranker_prompt_version TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            intent TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT '',
            new_text TEXT NOT NULL DEFAULT '',
            conversations TEXT NOT NULL DEFAULT '[]',
            holdout TEXT NOT NULL DEFAULT '[]',
            before_share REAL,
            before_low REAL,
            before_high REAL,
            after_share REAL,
            after_low REAL,
            after_high REAL,
            change REAL,
            change_low REAL,
            change_high REAL,
            threshold REAL NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('kept', 'rejected', 'merged')),
            reason TEXT NOT NULL,
            proposal_id TEXT,
            merged_with TEXT,
            detail TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE INDEX candidates_run ON candidates(run_id);
        CREATE INDEX candidates_section ON candidates(section_id, created_at);
        """
    )


# The effective label of a link (as in 0003), leaving out labels an undo withdrew.
_EFFECTIVE_0015 = """
    SELECT s.id, s.stance, s.source_kind, s.source_name FROM stance_labels s
    WHERE s.proposal_id = {link}.proposal_id AND s.justification_id = {link}.justification_id
      AND NOT EXISTS (SELECT 1 FROM stance_label_withdrawals w WHERE w.label_id = s.id)
    ORDER BY CASE s.source_kind WHEN 'person' THEN 0 WHEN 'model' THEN 1 ELSE 2 END,
             s.created_at DESC, s.rowid DESC
    LIMIT 1
"""


@migrations(name="0015_label_withdrawals")
def m0015_label_withdrawals(db: Database) -> None:
    """Let an undo withdraw the labels of a bulk labelling (``reviewer.bulk_labels``), keeping them in the record.

    Labels are never changed or deleted. Undoing a bulk labelling writes one row per label it made
    into ``stance_label_withdrawals`` (with the undo's id, who undid it and when); a withdrawn label
    no longer counts when the effective label of its link is chosen, so the link's effective
    stance is again exactly what it was before the bulk labelling. The triggers that keep
    ``evidence_current`` in step are made again to leave withdrawn labels out, and a new one
    chooses a link's effective label again when one of its labels is withdrawn.
    """
    new = _EFFECTIVE_0015.format(link="NEW")
    db.executescript(
        f"""
        CREATE TABLE stance_label_withdrawals (
            label_id TEXT PRIMARY KEY REFERENCES stance_labels(id),
            undo_id TEXT NOT NULL,
            person TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX stance_label_withdrawals_undo ON stance_label_withdrawals(undo_id);
        DROP TRIGGER evidence_current_new_link;
        DROP TRIGGER evidence_current_new_label;
        CREATE TRIGGER evidence_current_new_link AFTER INSERT ON evidence_current
        WHEN EXISTS (SELECT 1 FROM stance_labels s
                     WHERE s.proposal_id = NEW.proposal_id AND s.justification_id = NEW.justification_id)
        BEGIN
            UPDATE evidence_current SET (label_id, stance, source_kind, source_name) = ({new})
            WHERE proposal_id = NEW.proposal_id AND justification_id = NEW.justification_id;
        END;
        CREATE TRIGGER evidence_current_new_label AFTER INSERT ON stance_labels
        BEGIN
            UPDATE evidence_current SET (label_id, stance, source_kind, source_name) = ({new})
            WHERE proposal_id = NEW.proposal_id AND justification_id = NEW.justification_id;
        END;
        CREATE TRIGGER evidence_current_withdrawn_label AFTER INSERT ON stance_label_withdrawals
        BEGIN
            UPDATE evidence_current SET (label_id, stance, source_kind, source_name) = (
                {_EFFECTIVE_0015.format(link="evidence_current")})
            WHERE (proposal_id, justification_id) =
                  (SELECT proposal_id, justification_id FROM stance_labels WHERE id = NEW.label_id);
        END;
        """
    )


@migrations(name="0016_opinion_groups")
def m0016_opinion_groups(db: Database) -> None:
    """Opinion groups found in the crowd's own rankings or votes (``reviewer.groups``), kept so nothing recomputes them.

    One ``group_runs`` row per computation: the crowd input it read (``source``, ``ca1`` or ``polis``),
    its parameters (JSON: seed, k range, fewest entries, ...), the SHA-256 of the input matrix
    (``input_digest``) and the crowd import it read up to (``crowd_event``, the last import event of
    that source then), the k chosen and its silhouette, how many participants were grouped and how
    many left out for too few entries, the matrix's size, the adjusted Rand index against a Pol.is
    export's own ``group-id`` (NULL for CA-1), and ``detail`` (JSON: each k's silhouette, each group's
    size, centre and the items that most set it apart). ``group_members`` holds each grouped
    participant's group (0 = group A, the largest) and place on the two components. The run's
    ``groups.compute`` event vouches for both tables' rows by digest (written by ``id``/``run_id``),
    as a propose run's event does for its candidates.
    """
    db.executescript(
        """
        CREATE TABLE group_runs (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL CHECK (source IN ('ca1', 'polis')),
            params TEXT NOT NULL DEFAULT '{}',
            input_digest TEXT NOT NULL,
            crowd_event TEXT,
            k INTEGER NOT NULL CHECK (k >= 1),
            silhouette REAL,
            participants INTEGER NOT NULL,
            left_out INTEGER NOT NULL,
            items INTEGER NOT NULL,
            entries INTEGER NOT NULL,
            ari REAL,
            detail TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE INDEX group_runs_source ON group_runs(source, created_at);
        CREATE TABLE group_members (
            run_id TEXT NOT NULL REFERENCES group_runs(id),
            participant_id TEXT NOT NULL REFERENCES participants(id),
            group_index INTEGER NOT NULL CHECK (group_index >= 0),
            x REAL NOT NULL,
            y REAL NOT NULL,
            PRIMARY KEY (run_id, participant_id)
        );
        CREATE INDEX group_members_run ON group_members(run_id);
        CREATE INDEX group_members_participant ON group_members(participant_id, run_id, group_index);
        """
    )


@migrations(name="0017_usage_and_batches")
def m0017_usage_and_batches(db: Database) -> None:
    """Record the prompt cache's share of each call, each job's usage, and the Batch API batches a job sent.

    ``judge_cache.cached_tokens`` is the part of a call's input tokens the endpoint read from its prompt
    cache (``usage.prompt_tokens_details.cached_tokens``; 0 when it said nothing). ``judge_jobs`` keeps
    the tokens its calls used, summed over every run of the job (a resumed job adds to them); rows
    written before this migration start at 0, as their events say what those runs used.

    ``judge_batches`` holds each batch a job sent through the Batch API, so that a run stopped while
    the batch is processed resumes by polling the same batch instead of sending (and paying for) it
    again: the provider's batch id and input file, the status last seen, the output and error files,
    and ``custom_ids``, a JSON object from each request's ``custom_id`` to its input hash. A batch is
    ``open`` until its results are read (``read``) or it ended without them (``failed``, ``expired``,
    ``cancelled``: the job's items it held are sent again by the next run).
    """
    db.executescript(
        """
        ALTER TABLE judge_cache ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE judge_jobs ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE judge_jobs ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE judge_jobs ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE judge_batches (
            id TEXT PRIMARY KEY,
            job_id TEXT NOT NULL REFERENCES judge_jobs(id),
            endpoint TEXT,
            input_file_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('open', 'read', 'failed', 'expired', 'cancelled')),
            status TEXT NOT NULL,
            requests INTEGER NOT NULL,
            custom_ids TEXT NOT NULL,
            output_file_id TEXT,
            error_file_id TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX judge_batches_job ON judge_batches(job_id, state);
        """
    )


@migrations(name="0018_decision_duty")
def m0018_decision_duty(db: Database) -> None:
    """Keep with each decision the duty to respond it met (``reviewer.duty``): JSON of the minimum group size, the groups owed and each answer.

    NULL when the decision owed no group an answer (and for every decision recorded before).
    """
    db.execute("ALTER TABLE decisions ADD COLUMN duty TEXT")
