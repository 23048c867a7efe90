-- The shared schema: tenant registry and per-tenant migration state.
-- `platform` itself is created by the migrator before this runs (diesel's ledger lives in it).

-- Pooled connections start with search_path = dvc_quarantine, a schema that is deliberately
-- never created: unscoped queries fail and unqualified CREATEs have nowhere to land.

CREATE TABLE platform.tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' AND length(slug) BETWEEN 2 AND 40),
    schema_name text NOT NULL UNIQUE CHECK (schema_name ~ '^t_[a-z0-9_]+$'),
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9]{2,8}$'),
    kind        text NOT NULL CHECK (kind IN ('national', 'ministry', 'division', 'province', 'department', 'district')),
    parent_id   uuid REFERENCES platform.tenants (id),
    name_vi     text NOT NULL,
    name_en     text,
    locale      text NOT NULL DEFAULT 'vi' CHECK (locale IN ('vi', 'en')),
    branding    jsonb NOT NULL DEFAULT '{}',
    contact     jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenants_parent_idx ON platform.tenants (parent_id);

CREATE TABLE platform.tenant_domains (
    domain    text PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_domains_tenant_idx ON platform.tenant_domains (tenant_id);

-- Where each tenant schema stands: the last applied migration, and the last attempt's outcome.
CREATE TABLE platform.tenant_schema_state (
    tenant_id  uuid PRIMARY KEY REFERENCES platform.tenants (id) ON DELETE CASCADE,
    version    text,
    status     text NOT NULL CHECK (status IN ('ok', 'failed')),
    error      text,
    attempts   integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
