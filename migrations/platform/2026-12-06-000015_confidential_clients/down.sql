ALTER TABLE platform.oauth_clients
    DROP CONSTRAINT oauth_clients_credentials,
    DROP COLUMN jwks,
    DROP COLUMN secret_hash,
    DROP COLUMN auth_method;
