-- Units inside a tenant (the one-stop desk, specialist divisions, the leadership, the clerk's
-- office) and the process a procedure's dossiers go through between them. Plain top-level DDL
-- inside one tenant schema.

-- `agencies` holds the units; a unit's officials, with the role each has there.
CREATE TABLE unit_members (
    unit_code  text NOT NULL REFERENCES agencies (code),
    account_id uuid NOT NULL,
    role       text NOT NULL CHECK (role IN ('officer', 'leader')),
    PRIMARY KEY (unit_code, account_id, role)
);
CREATE INDEX unit_members_account_idx ON unit_members (account_id);

-- The declared process (ordered steps, JSON as services::processes::Process); NULL keeps the
-- fixed path (receive → review → decide → return).
ALTER TABLE procedures ADD COLUMN process jsonb;
