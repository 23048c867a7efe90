-- The text worker locks due texts in its own transaction (FOR UPDATE SKIP LOCKED) instead of
-- leasing them, and reads them oldest first: this index gives it an ordered range scan that
-- stops after a batch, however long the queue. (`outbox_due_idx` leads with the channel, so a
-- query for "every channel but e-mail" had to sort the whole queue on each claim.)
CREATE INDEX outbox_texts_due_idx ON platform.outbox (next_attempt_at)
    WHERE status IN ('pending', 'sending') AND channel <> 'email';
