-- Notification outbox: written in the same transaction as the change that causes the mail,
-- delivered by `dvc worker` (claims with FOR UPDATE SKIP LOCKED and a lease).
ALTER TABLE platform.tenants ADD COLUMN mail_templates jsonb NOT NULL DEFAULT '{}';

CREATE TABLE platform.outbox (
    id              bigserial PRIMARY KEY,
    tenant_id       uuid REFERENCES platform.tenants (id),
    template        text NOT NULL,
    locale          text NOT NULL CHECK (locale IN ('vi', 'en')),
    recipient       text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}',
    idempotency_key text NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_by       text,
    locked_until    timestamptz,
    last_error      text,
    sent_at         timestamptz,
    smtp_message_id text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- What the worker looks for: due pending rows, and claimed rows whose lease ran out.
CREATE INDEX outbox_due_idx ON platform.outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_tenant_status_idx ON platform.outbox (tenant_id, status);
