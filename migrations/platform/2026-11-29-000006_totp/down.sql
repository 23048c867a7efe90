ALTER TABLE platform.sso_sessions DROP COLUMN mfa;
DROP TABLE platform.account_totp;
