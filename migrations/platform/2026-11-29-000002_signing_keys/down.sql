DROP TABLE platform.signing_keys;
