-- A change of e-mail address waits, with its new address, for the link sent to that address.
ALTER TABLE platform.account_tokens ADD COLUMN new_email text;
ALTER TABLE platform.account_tokens DROP CONSTRAINT account_tokens_purpose_check;
ALTER TABLE platform.account_tokens ADD CONSTRAINT account_tokens_purpose_check
    CHECK (purpose IN ('verify_email', 'reset_password', 'change_email'));
