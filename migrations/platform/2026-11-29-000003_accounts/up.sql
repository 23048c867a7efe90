-- One account for every tenant portal (citizens and businesses), its single-use tokens, and
-- the append-only audit log.
CREATE TABLE platform.accounts (
    id                uuid PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('citizen', 'business')),
    email             text NOT NULL,
    email_verified_at timestamptz,
    full_name         text NOT NULL,
    citizen_id        text CHECK (citizen_id ~ '^[0-9]{12}$'),
    tax_code          text CHECK (tax_code ~ '^[0-9]{10}(-[0-9]{3})?$'),
    phone             text,
    locale            text NOT NULL DEFAULT 'vi' CHECK (locale IN ('vi', 'en')),
    password_hash     text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT business_has_tax_code CHECK (kind <> 'business' OR tax_code IS NOT NULL)
);
CREATE UNIQUE INDEX accounts_email_key ON platform.accounts (lower(email));
CREATE UNIQUE INDEX accounts_citizen_id_key ON platform.accounts (citizen_id) WHERE citizen_id IS NOT NULL;

-- Only the SHA-256 of a token is stored; the token itself exists only in the mail.
CREATE TABLE platform.account_tokens (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_tokens_account_idx ON platform.account_tokens (account_id, purpose);

CREATE TABLE platform.audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor_id  uuid,
    tenant_id uuid,
    ip        text,
    action    text NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_actor_idx ON platform.audit_log (actor_id, at);
