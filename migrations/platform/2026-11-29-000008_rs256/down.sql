DELETE FROM platform.signing_keys WHERE alg = 'RS256';
DROP INDEX platform.signing_keys_one_live_state;
CREATE UNIQUE INDEX signing_keys_one_live_state ON platform.signing_keys (state) WHERE state <> 'retired';
ALTER TABLE platform.signing_keys DROP CONSTRAINT signing_keys_alg_check;
ALTER TABLE platform.signing_keys ADD CONSTRAINT signing_keys_alg_check CHECK (alg IN ('ES256'));
