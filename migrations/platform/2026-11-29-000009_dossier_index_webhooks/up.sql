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

-- Statistics as published figures: daily counters per tenant and procedure, updated in the
-- transaction of each transition. They live here, keyed by tenant, so a ministry's roll-up over
-- every tenant below it is one indexed query instead of one transaction per tenant schema.
-- They hold no personal data.
CREATE TABLE platform.stats_daily (
    tenant_id          uuid NOT NULL REFERENCES platform.tenants (id),
    day                date NOT NULL,
    procedure_code     text NOT NULL,
    field_code         text NOT NULL,
    received           integer NOT NULL DEFAULT 0,
    received_online    integer NOT NULL DEFAULT 0,
    resolved           integer NOT NULL DEFAULT 0,
    resolved_on_time   integer NOT NULL DEFAULT 0,
    processing_seconds bigint NOT NULL DEFAULT 0,
    rating_sum         integer NOT NULL DEFAULT 0,
    rating_count       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, procedure_code)
);

-- Dossiers received and not yet decided, now, per tenant and procedure.
CREATE TABLE platform.stats_open (
    tenant_id      uuid NOT NULL REFERENCES platform.tenants (id),
    procedure_code text NOT NULL,
    field_code     text NOT NULL,
    in_progress    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, procedure_code)
);
