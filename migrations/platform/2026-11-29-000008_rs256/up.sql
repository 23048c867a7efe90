-- RS256 keys for ID tokens (OpenID Connect's default algorithm), rotated with the ES256 keys.
ALTER TABLE platform.signing_keys DROP CONSTRAINT signing_keys_alg_check;
ALTER TABLE platform.signing_keys ADD CONSTRAINT signing_keys_alg_check CHECK (alg IN ('ES256', 'RS256'));
DROP INDEX platform.signing_keys_one_live_state;
CREATE UNIQUE INDEX signing_keys_one_live_state ON platform.signing_keys (alg, state) WHERE state <> 'retired';
