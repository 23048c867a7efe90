-- Tenant portals exchange their codes and refresh tokens inside dvc, never at the public token
-- endpoint: their redirect URIs include tenant-controlled custom domains.
ALTER TABLE platform.oauth_clients
    ADD COLUMN in_process_only boolean NOT NULL DEFAULT false,
    ADD COLUMN post_logout_redirect_uris text[] NOT NULL DEFAULT '{}',
    -- Tokens of this client open the account API (/api/v1/auth/…, /api/v1/account/…).
    ADD COLUMN account_api boolean NOT NULL DEFAULT false;

-- Existing portals: first-party, and the page a logout returns to is no redirect URI.
UPDATE platform.oauth_clients c
SET in_process_only = true,
    post_logout_redirect_uris =
        ARRAY(SELECT u FROM unnest(c.redirect_uris) AS u WHERE u LIKE '%/da-dang-xuat'),
    redirect_uris =
        ARRAY(SELECT u FROM unnest(c.redirect_uris) AS u WHERE u NOT LIKE '%/da-dang-xuat')
FROM platform.tenants t
WHERE c.tenant_id = t.id AND c.client_id = 'portal-' || t.slug;

-- A new authenticator replacing a confirmed one waits here until its first code confirms it;
-- until then sign-in keeps asking for the old one.
ALTER TABLE platform.account_totp
    ADD COLUMN pending_enc bytea,
    ADD COLUMN pending_nonce bytea;
