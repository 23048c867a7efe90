DROP INDEX dossiers_open_idx;
CREATE INDEX dossiers_open_idx ON dossiers (due_date NULLS LAST, submitted_at)
    WHERE status NOT IN ('approved', 'rejected', 'returned', 'withdrawn');
ALTER TABLE dossiers DROP COLUMN refusal_reason;
ALTER TABLE dossiers DROP COLUMN applicant_phone;
ALTER TABLE dossiers DROP COLUMN applicant_id_number;
ALTER TABLE dossiers DROP CONSTRAINT dossiers_status_check;
ALTER TABLE dossiers ADD CONSTRAINT dossiers_status_check
    CHECK (status IN ('submitted', 'received', 'in_review', 'supplement_requested', 'resubmitted',
                      'approved', 'rejected', 'returned', 'withdrawn'));
ALTER TABLE dossiers DROP CONSTRAINT dossiers_channel_check;
ALTER TABLE dossiers ADD CONSTRAINT dossiers_channel_check CHECK (channel IN ('online', 'counter'));
