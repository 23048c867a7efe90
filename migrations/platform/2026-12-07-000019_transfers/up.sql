-- Dossiers handed between tenants (liên thông): a commune's dossier to its province, and the
-- result back. A row is written in the sending tenant's transaction and delivered in the
-- receiving tenant's, which marks it delivered in that same transaction: a crash between the
-- two leaves it pending, to be delivered again, never twice (the receiver keys its copy by the
-- transfer's id). The payload (form data, applicant) is emptied once delivered.
CREATE TABLE platform.dossier_transfers (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('dossier', 'result')),
    -- for a result: the dossier transfer it answers
    answers         uuid,
    dossier_code    text NOT NULL,
    procedure_code  text NOT NULL,
    from_tenant     uuid NOT NULL REFERENCES platform.tenants (id),
    to_tenant       uuid NOT NULL REFERENCES platform.tenants (id),
    payload         jsonb NOT NULL,
    -- what the receiving tenant did, step by step, for the applicant's one timeline: status,
    -- step names and times only, no notes and no names
    progress        jsonb NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    delivered_at    timestamptz
);
CREATE INDEX dossier_transfers_pending_idx ON platform.dossier_transfers (next_attempt_at)
    WHERE delivered_at IS NULL;
CREATE INDEX dossier_transfers_code_idx ON platform.dossier_transfers (from_tenant, dossier_code);
