-- Onboarding and hosting operations: draft and archived tenants, invitations, custom domains
-- verified by DNS, and usage metering per tenant and month.

ALTER TABLE platform.tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE platform.tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('draft', 'active', 'suspended', 'archived'));
-- When the tenant first went live; when it was archived and when its schema may be dropped.
ALTER TABLE platform.tenants ADD COLUMN live_at timestamptz DEFAULT now();
ALTER TABLE platform.tenants ADD COLUMN archived_at timestamptz;
ALTER TABLE platform.tenants ADD COLUMN purge_after timestamptz;
UPDATE platform.tenants SET live_at = created_at WHERE status IN ('active', 'suspended');

-- An invitation to take a role in a tenant: single use, expiring; only the token's hash is kept.
CREATE TABLE platform.invitations (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('officer', 'leader', 'tenant_admin')),
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid
);
CREATE INDEX invitations_tenant_idx ON platform.invitations (tenant_id, created_at DESC);

-- Domains that came from tenant files are trusted (the operator wrote them); domains a tenant
-- asks for are routed only once their DNS TXT record proves control.
ALTER TABLE platform.tenant_domains ADD COLUMN verified_at timestamptz;
CREATE TABLE platform.domain_claims (
    domain      text PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    token       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    checked_at  timestamptz,
    verified_at timestamptz
);
CREATE INDEX domain_claims_tenant_idx ON platform.domain_claims (tenant_id);

-- Usage per tenant and calendar month (Vietnam time). Counters are added to as things
-- happen (API calls flushed from each instance); storage is the last measured figure.
CREATE TABLE platform.usage_monthly (
    tenant_id          uuid NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    month              date NOT NULL CHECK (extract(day FROM month) = 1),
    api_calls          bigint NOT NULL DEFAULT 0,
    storage_bytes      bigint NOT NULL DEFAULT 0,
    storage_checked_at timestamptz,
    PRIMARY KEY (tenant_id, month)
);
-- The usage report (and every metrics scrape) counts a month's dossiers and sent mail per
-- tenant: ranges on these, not scans of each tenant's whole history.
CREATE INDEX dossier_index_tenant_submitted_idx ON platform.dossier_index (tenant_id, submitted_at);
CREATE INDEX outbox_tenant_sent_idx ON platform.outbox (tenant_id, sent_at) WHERE status = 'sent';

-- Citizens' accounts that signed in to a tenant's portal in a month (counted, not listed).
CREATE TABLE platform.usage_accounts (
    tenant_id  uuid NOT NULL REFERENCES platform.tenants (id) ON DELETE CASCADE,
    month      date NOT NULL,
    account_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, month, account_id)
);
