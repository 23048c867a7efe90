-- Opaque refresh tokens, stored hashed, rotated on every use. All tokens descending from one
-- sign-in share a family; presenting a used token after the grace window revokes the family.
CREATE TABLE platform.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    family_id  uuid NOT NULL,
    session_id uuid NOT NULL REFERENCES platform.sso_sessions (id) ON DELETE CASCADE,
    client_id  text NOT NULL REFERENCES platform.oauth_clients (client_id) ON DELETE CASCADE,
    account_id uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON platform.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_session_idx ON platform.refresh_tokens (session_id);
