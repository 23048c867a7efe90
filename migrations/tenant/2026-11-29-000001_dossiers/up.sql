-- Dossiers and what hangs off them. Runs inside one tenant schema: plain top-level DDL only,
-- no schema-qualified names, no references to the shared schema (account ids are plain UUIDs).

-- JSON text, not jsonb: jsonb reorders keys, and the order of a form's fields matters.
ALTER TABLE procedures ADD COLUMN form_schema text NOT NULL DEFAULT '{}';
-- Who decides (approves or rejects): in most procedures the leader signs the decision.
-- (A column and its constraint in two commands, the constraint named as PostgreSQL would name
-- it inline: Citus refuses unnamed constraints on distributed tables.)
ALTER TABLE procedures ADD COLUMN decide_role text NOT NULL DEFAULT 'leader';
ALTER TABLE procedures ADD CONSTRAINT procedures_decide_role_check
    CHECK (decide_role IN ('officer', 'leader'));
-- Slug of the parent tenant whose procedure this one adapts (fee and time limit may differ).
ALTER TABLE procedures ADD COLUMN inherited_from text;

-- Daily sequence behind the human dossier code (HNI-261128-0007); one row per local day,
-- bumped with INSERT … ON CONFLICT so concurrent submissions never share a number.
CREATE TABLE dossier_sequences (
    day  date PRIMARY KEY,
    last integer NOT NULL
);

CREATE TABLE dossiers (
    id              uuid PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    procedure_code  text NOT NULL REFERENCES procedures (code),
    applicant_id    uuid,
    applicant_name  text NOT NULL,
    applicant_email text,
    locale          text NOT NULL DEFAULT 'vi',
    -- sha256 of the code and the applicant's phone digits: the second factor of public lookup
    lookup_hash     bytea NOT NULL,
    channel         text NOT NULL DEFAULT 'online' CHECK (channel IN ('online', 'counter')),
    form_data       jsonb NOT NULL,
    fee_vnd         bigint NOT NULL DEFAULT 0 CHECK (fee_vnd >= 0),
    status          text NOT NULL CHECK (status IN ('submitted', 'received', 'in_review',
                        'supplement_requested', 'resubmitted', 'approved', 'rejected',
                        'returned', 'withdrawn')),
    -- optimistic concurrency: every change bumps it, a stale writer gets 409
    version         integer NOT NULL DEFAULT 1,
    assignee_id     uuid,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    received_at     timestamptz,
    due_date        date,
    -- set while the clock is paused for a supplement
    paused_on       date,
    missing         jsonb NOT NULL DEFAULT '[]',
    resolved_at     timestamptz,
    returned_at     timestamptz,
    result_note     text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dossiers_applicant_idx ON dossiers (applicant_id, submitted_at DESC);
-- the officers' inbox: open dossiers, overdue (earliest due) first
CREATE INDEX dossiers_open_idx ON dossiers (due_date NULLS LAST, submitted_at)
    WHERE status NOT IN ('approved', 'rejected', 'returned', 'withdrawn');
CREATE INDEX dossiers_procedure_idx ON dossiers (procedure_code, submitted_at);

-- Append-only history: the trigger below refuses updates and deletes.
CREATE TABLE dossier_events (
    id          bigserial PRIMARY KEY,
    dossier_id  uuid NOT NULL REFERENCES dossiers (id),
    seq         integer NOT NULL,
    actor_id    uuid,
    actor_role  text NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    note        text,
    details     jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dossier_id, seq)
);

CREATE FUNCTION dossier_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dossier events are append-only';
END
$$;

CREATE TRIGGER dossier_events_append_only BEFORE UPDATE OR DELETE ON dossier_events
    FOR EACH ROW EXECUTE FUNCTION dossier_events_append_only();

CREATE TABLE attachments (
    id             uuid PRIMARY KEY,
    dossier_id     uuid NOT NULL REFERENCES dossiers (id),
    -- index into the procedure's documents; NULL for anything else the applicant adds
    document_index integer,
    file_name      text NOT NULL,
    media_type     text NOT NULL,
    size_bytes     bigint NOT NULL CHECK (size_bytes > 0),
    sha256         text NOT NULL,
    storage_key    text NOT NULL UNIQUE,
    uploaded_by    uuid,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_dossier_idx ON attachments (dossier_id);

-- One rating per returned dossier; absent means "not rated", never a default.
CREATE TABLE feedback (
    dossier_id uuid PRIMARY KEY REFERENCES dossiers (id),
    rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- What the tenants below this one report (signed webhooks): the latest status per dossier.
CREATE TABLE child_dossiers (
    source_tenant  text NOT NULL,
    dossier_code   text NOT NULL,
    procedure_code text NOT NULL,
    status         text NOT NULL,
    last_seq       integer NOT NULL,
    submitted_at   timestamptz NOT NULL,
    due_date       date,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (source_tenant, dossier_code)
);

-- Every accepted webhook event id, so a replayed delivery is recognised.
CREATE TABLE sync_inbox (
    event_id      uuid PRIMARY KEY,
    source_tenant text NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);
