-- A citizen's dossiers across every tenant, for "my dossiers" on any portal. Written in the
-- same transaction as the dossier itself; holds no form data, only what the list shows.
CREATE TABLE platform.dossier_index (
    tenant_id      uuid NOT NULL REFERENCES platform.tenants (id),
    dossier_id     uuid NOT NULL,
    account_id     uuid NOT NULL,
    code           text NOT NULL,
    procedure_code text NOT NULL,
    procedure_name text NOT NULL,
    status         text NOT NULL,
    submitted_at   timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, dossier_id)
);
CREATE INDEX dossier_index_account_idx ON platform.dossier_index (account_id, submitted_at DESC);

-- Signed dossier events for parent portals, delivered by the worker in order per dossier and
-- endpoint, with retries; written in the transaction of the change they describe.
CREATE TABLE platform.webhook_outbox (
    id              bigserial PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES platform.tenants (id),
    endpoint        text NOT NULL,
    url             text NOT NULL,
    ordering_key    text NOT NULL,
    event_id        uuid NOT NULL,
    body            jsonb NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    delivered_at    timestamptz,
    failed_at       timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint, event_id)
);
CREATE INDEX webhook_outbox_due_idx ON platform.webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX webhook_outbox_order_idx ON platform.webhook_outbox (ordering_key, endpoint, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
