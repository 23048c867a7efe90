-- Where a dossier is in its procedure's process (NULL for the fixed path): the step's index,
-- since when and until when it is there, the unit whose opinion it waits for, and the
-- decision taken before the last steps (the clerk's seal) end the processing.
ALTER TABLE dossiers ADD COLUMN step integer;
ALTER TABLE dossiers ADD CONSTRAINT dossiers_step_check CHECK (step >= 0);
ALTER TABLE dossiers ADD COLUMN step_entered_at timestamptz;
ALTER TABLE dossiers ADD COLUMN step_due_at timestamptz;
ALTER TABLE dossiers ADD COLUMN awaiting_unit text;
ALTER TABLE dossiers ADD COLUMN decision text;
ALTER TABLE dossiers ADD CONSTRAINT dossiers_decision_check CHECK (decision IN ('approve', 'reject'));
-- A unit's inbox: the open dossiers at one of its steps, the earliest due first.
CREATE INDEX dossiers_step_idx ON dossiers (step, step_due_at) WHERE step IS NOT NULL;
