-- Token signing keys. Private keys are stored encrypted (AES-256-GCM) under the master key
-- that only the environment holds. `next` is published in the JWKS before it signs; `previous`
-- still verifies tokens it signed; `retired` is kept for audit only.
CREATE TABLE platform.signing_keys (
    kid             text PRIMARY KEY,
    alg             text NOT NULL CHECK (alg IN ('ES256')),
    state           text NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    public_jwk      jsonb NOT NULL,
    private_key_enc bytea NOT NULL,
    nonce           bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    activated_at    timestamptz,
    retired_at      timestamptz
);
-- At most one key in each live state.
CREATE UNIQUE INDEX signing_keys_one_live_state ON platform.signing_keys (state) WHERE state <> 'retired';
