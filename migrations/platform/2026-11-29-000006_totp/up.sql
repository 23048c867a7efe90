-- TOTP second factor. The secret is encrypted like the signing keys; `last_step` makes every
-- code single-use (RFC 6238 §5.2).
CREATE TABLE platform.account_totp (
    account_id   uuid PRIMARY KEY REFERENCES platform.accounts (id) ON DELETE CASCADE,
    secret_enc   bytea NOT NULL,
    nonce        bytea NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint
);
-- Whether a session was opened with a second factor: officials get their roles only then.
ALTER TABLE platform.sso_sessions ADD COLUMN mfa boolean NOT NULL DEFAULT false;
