-- Text messages (SMS brandname, Zalo notifications) are rows of the same outbox as mail: the
-- change that owes a text writes it in its own transaction, and the worker delivers it once.
-- Expand only: a binary of the release before writes mail rows, which take the default.
ALTER TABLE platform.outbox
    ADD COLUMN channel text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms', 'zalo')),
    -- The provider's id for an accepted text, which its delivery reports name.
    ADD COLUMN delivery_ref text,
    ADD COLUMN delivery_status text CHECK (delivery_status IN ('delivered', 'undelivered')),
    ADD COLUMN delivery_reported_at timestamptz,
    -- Segments the provider bills for an SMS (1 or 2).
    ADD COLUMN segments smallint;

-- Each worker claims its own channels: mail and texts are sent by different clients.
DROP INDEX platform.outbox_due_idx;
CREATE INDEX outbox_due_idx ON platform.outbox (channel, next_attempt_at)
    WHERE status IN ('pending', 'sending');
CREATE UNIQUE INDEX outbox_delivery_ref_idx ON platform.outbox (channel, delivery_ref)
    WHERE delivery_ref IS NOT NULL;
-- The monthly text quota counts what a tenant sent this month.
CREATE INDEX outbox_texts_sent_idx ON platform.outbox (tenant_id, channel, sent_at)
    WHERE status = 'sent' AND channel <> 'email';

-- Which channels an account wants notices on. No row: e-mail and SMS (Zalo is asked for).
CREATE TABLE platform.notification_preferences (
    account_id uuid PRIMARY KEY REFERENCES platform.accounts (id) ON DELETE CASCADE,
    channels   text[] NOT NULL CHECK (channels <@ ARRAY['email', 'sms', 'zalo']::text[]),
    updated_at timestamptz NOT NULL DEFAULT now()
);
