-- Roles, OAuth clients, authorization codes and single sign-on sessions.
CREATE TABLE platform.memberships (
    account_id uuid NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    tenant_id  uuid NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('officer', 'leader', 'tenant_admin')),
    granted_by uuid,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, tenant_id, role)
);
CREATE INDEX memberships_tenant_idx ON platform.memberships (tenant_id, role);

CREATE TABLE platform.platform_roles (
    account_id uuid NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('operator')),
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, role)
);

-- Every tenant portal is a client; outside systems are registered by operators.
CREATE TABLE platform.oauth_clients (
    client_id     text PRIMARY KEY CHECK (client_id ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    name          text NOT NULL,
    tenant_id     uuid REFERENCES platform.tenants (id) ON DELETE CASCADE,
    redirect_uris text[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform.sso_sessions (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES platform.accounts (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    ip          text,
    user_agent  text
);
CREATE INDEX sso_sessions_account_idx ON platform.sso_sessions (account_id);

-- Authorization codes live a minute and work once; only their hash is kept.
CREATE TABLE platform.oauth_codes (
    code_hash      bytea PRIMARY KEY,
    client_id      text NOT NULL REFERENCES platform.oauth_clients (client_id) ON DELETE CASCADE,
    session_id     uuid NOT NULL REFERENCES platform.sso_sessions (id) ON DELETE CASCADE,
    account_id     uuid NOT NULL,
    redirect_uri   text NOT NULL,
    code_challenge text NOT NULL,
    nonce          text,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);
