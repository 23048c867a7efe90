DROP INDEX platform.outbox_texts_due_idx;
