-- What an `Idempotency-Key` already produced, for 24 hours: a retried submission or payment
-- gets the first answer instead of a second dossier or intent. Written in the same
-- transaction as what it describes.
CREATE TABLE idempotency_keys (
    account_id uuid NOT NULL,
    operation text NOT NULL,
    key text NOT NULL,
    fingerprint bytea NOT NULL,
    status smallint NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, operation, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
