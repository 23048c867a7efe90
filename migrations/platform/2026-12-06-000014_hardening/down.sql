ALTER TABLE platform.account_totp DROP COLUMN pending_nonce, DROP COLUMN pending_enc;
UPDATE platform.oauth_clients
SET redirect_uris = redirect_uris || post_logout_redirect_uris;
ALTER TABLE platform.oauth_clients
    DROP COLUMN account_api,
    DROP COLUMN post_logout_redirect_uris,
    DROP COLUMN in_process_only;
