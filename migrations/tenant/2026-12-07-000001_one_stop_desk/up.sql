-- The one-stop desk: dossiers registered at the counter or by post, the completeness check
-- before the clock starts (incomplete, refused), and who the applicant is when they have no
-- account. Plain top-level DDL inside one tenant schema.

ALTER TABLE dossiers DROP CONSTRAINT dossiers_channel_check;
ALTER TABLE dossiers ADD CONSTRAINT dossiers_channel_check
    CHECK (channel IN ('online', 'counter', 'postal'));

ALTER TABLE dossiers DROP CONSTRAINT dossiers_status_check;
ALTER TABLE dossiers ADD CONSTRAINT dossiers_status_check
    CHECK (status IN ('submitted', 'received', 'in_review', 'supplement_requested', 'resubmitted',
                      'approved', 'rejected', 'returned', 'withdrawn', 'incomplete', 'refused'));

-- CCCD or tax code as shown at the counter (online applicants have theirs on the account).
ALTER TABLE dossiers ADD COLUMN applicant_id_number text;
-- Digits of the applicant's phone, kept for the slips and for texts.
ALTER TABLE dossiers ADD COLUMN applicant_phone text;
-- Why the desk refused it at receipt (required with `refused`).
ALTER TABLE dossiers ADD COLUMN refusal_reason text;

-- The officers' inbox leaves refused dossiers out, as it leaves the other closed ones.
DROP INDEX dossiers_open_idx;
CREATE INDEX dossiers_open_idx ON dossiers (due_date NULLS LAST, submitted_at)
    WHERE status NOT IN ('approved', 'rejected', 'returned', 'withdrawn', 'refused');
