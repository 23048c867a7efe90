DROP TABLE platform.notification_preferences;
DROP INDEX platform.outbox_texts_sent_idx;
DROP INDEX platform.outbox_delivery_ref_idx;
DROP INDEX platform.outbox_due_idx;
DELETE FROM platform.outbox WHERE channel <> 'email';
ALTER TABLE platform.outbox DROP COLUMN channel, DROP COLUMN delivery_ref,
    DROP COLUMN delivery_status, DROP COLUMN delivery_reported_at, DROP COLUMN segments;
CREATE INDEX outbox_due_idx ON platform.outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
