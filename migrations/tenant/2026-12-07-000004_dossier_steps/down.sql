DROP INDEX dossiers_step_idx;
ALTER TABLE dossiers DROP COLUMN decision;
ALTER TABLE dossiers DROP COLUMN awaiting_unit;
ALTER TABLE dossiers DROP COLUMN step_due_at;
ALTER TABLE dossiers DROP COLUMN step_entered_at;
ALTER TABLE dossiers DROP COLUMN step;
