DELETE FROM platform.account_tokens WHERE purpose = 'change_email';
ALTER TABLE platform.account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE platform.account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password'));
ALTER TABLE platform.account_tokens DROP COLUMN new_email;
