-- Procedure drafts (issue 20): the designer edits a procedure here, away from what citizens
-- see, until an administrator publishes it (the procedure row and a new version are written
-- then, and the draft goes). One draft per procedure code.
CREATE TABLE procedure_drafts (
    code       text PRIMARY KEY,
    -- The designer's model (names, fee, documents, the form as a field list), as JSON.
    design     jsonb NOT NULL,
    -- The published version the draft started from; NULL for a new procedure.
    based_on   int,
    updated_by uuid NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
