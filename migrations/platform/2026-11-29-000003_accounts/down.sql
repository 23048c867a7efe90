DROP TABLE platform.audit_log;
DROP TABLE platform.account_tokens;
DROP TABLE platform.accounts;
