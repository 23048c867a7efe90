-- Each tenant's merchant account at its payment gateway; the secret sealed under the master key.
CREATE TABLE platform.payment_merchants (
    tenant_id     uuid PRIMARY KEY REFERENCES platform.tenants (id),
    provider      text NOT NULL,
    merchant_id   text NOT NULL UNIQUE,
    gateway_url   text NOT NULL,
    secret_sealed bytea NOT NULL,
    secret_nonce  bytea NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The sandbox gateway's own book (non-production only): what it was asked and what it decided.
CREATE TABLE platform.sandbox_transactions (
    merchant_id    text NOT NULL,
    txn_ref        text NOT NULL,
    amount_vnd     bigint NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'cancelled', 'refunded')),
    transaction_no text NOT NULL,
    bank_code      text NOT NULL DEFAULT 'NCB',
    created_at     timestamptz NOT NULL DEFAULT now(),
    decided_at     timestamptz,
    PRIMARY KEY (merchant_id, txn_ref)
);

-- Paid online: count and amount, per tenant, day and procedure, with the other counters.
ALTER TABLE platform.stats_daily ADD COLUMN paid_count integer NOT NULL DEFAULT 0;
ALTER TABLE platform.stats_daily ADD COLUMN paid_amount bigint NOT NULL DEFAULT 0;
