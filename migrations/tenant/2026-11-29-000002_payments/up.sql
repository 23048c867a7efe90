-- Fees and online payment. Plain top-level DDL inside one tenant schema.

-- A fee rule over form data (JSON text): per item of a listed array, waivers by category.
ALTER TABLE procedures ADD COLUMN fee_rule text NOT NULL DEFAULT '{}';
-- For `full` procedures: an officer may receive the dossier only once it is paid.
ALTER TABLE procedures ADD COLUMN pay_before_processing boolean NOT NULL DEFAULT true;

ALTER TABLE dossiers ADD COLUMN payment_status text NOT NULL DEFAULT 'none';
ALTER TABLE dossiers ADD CONSTRAINT dossiers_payment_status_check
    CHECK (payment_status IN ('none', 'due', 'paid', 'refunded'));

CREATE SEQUENCE receipt_numbers;

-- One payment attempt of a dossier: the intent sent to the gateway and what became of it.
CREATE TABLE payments (
    id             uuid PRIMARY KEY,
    dossier_id     uuid NOT NULL REFERENCES dossiers (id),
    reference      text NOT NULL UNIQUE,
    amount_vnd     bigint NOT NULL CHECK (amount_vnd > 0),
    -- refunding: the gateway is being asked; only one refund can be under way
    status         text NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled',
                                                   'refunding', 'refunded')),
    provider       text NOT NULL,
    transaction_no text,
    bank_code      text,
    response_code  text,
    receipt_no     text UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    settled_at     timestamptz,
    refunded_at    timestamptz,
    refund_reason  text,
    refunded_by    uuid
);
CREATE INDEX payments_dossier_idx ON payments (dossier_id);
CREATE INDEX payments_pending_idx ON payments (created_at) WHERE status = 'pending';

-- Every message about a payment, verified or not, kept as received.
CREATE TABLE payment_notifications (
    id          bigserial PRIMARY KEY,
    payment_id  uuid REFERENCES payments (id),
    source      text NOT NULL CHECK (source IN ('ipn', 'return', 'query', 'refund')),
    raw         jsonb NOT NULL,
    verified    boolean NOT NULL,
    outcome     text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_notifications_payment_idx ON payment_notifications (payment_id);
