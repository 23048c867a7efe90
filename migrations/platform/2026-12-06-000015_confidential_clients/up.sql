-- Outside systems (a ministry's own apps, the national portal) authenticate at the token
-- endpoint: with a secret (stored as SHA-256, shown once) or a JWT signed by their own key.
ALTER TABLE platform.oauth_clients
    ADD COLUMN auth_method text NOT NULL DEFAULT 'none'
        CHECK (auth_method IN ('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt')),
    ADD COLUMN secret_hash bytea,
    ADD COLUMN jwks jsonb,
    ADD CONSTRAINT oauth_clients_credentials CHECK (
        (auth_method IN ('client_secret_basic', 'client_secret_post')) = (secret_hash IS NOT NULL)
        AND (auth_method = 'private_key_jwt') = (jwks IS NOT NULL));
