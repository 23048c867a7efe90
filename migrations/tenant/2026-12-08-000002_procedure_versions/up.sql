-- Procedure versions (issue 20): every change of what an applicant sees and pays — names, form,
-- documents, fee and its rule — is kept as a numbered version, and each dossier keeps the
-- version it was submitted under, so a changed form or fee never breaks a dossier in flight.
-- Written by the catalog store after each upsert (not a trigger: archives load rows as they are).
CREATE TABLE procedure_versions (
    procedure_code text NOT NULL,
    version        int  NOT NULL,
    name_vi        text NOT NULL,
    name_en        text,
    form_schema    text NOT NULL,
    documents      jsonb NOT NULL,
    fee_vnd        bigint NOT NULL,
    fee_rule       text NOT NULL,
    -- md5 of the content, to record a version only when something changed.
    digest         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (procedure_code, version)
);

-- Backfills read through a materialized CTE: Citus 12.1 pushes a plain INSERT … SELECT between
-- two tables of a distributed schema down to the worker with a broken filter
-- (`WHERE ( IS NOT NULL)`); the CTE makes the coordinator read first, then insert.
WITH existing AS MATERIALIZED (
    SELECT code, 1, name_vi, name_en, form_schema, documents, fee_vnd, fee_rule,
           md5(concat_ws(chr(31), name_vi, name_en, form_schema, documents::text, fee_vnd::text, fee_rule))
    FROM procedures)
INSERT INTO procedure_versions (procedure_code, version, name_vi, name_en, form_schema, documents,
                                fee_vnd, fee_rule, digest)
SELECT * FROM existing;

-- The dossiers table is at diesel's 32 columns: the pinned version lives beside it.
CREATE TABLE dossier_procedure_versions (
    dossier_id     uuid PRIMARY KEY REFERENCES dossiers (id),
    procedure_code text NOT NULL,
    version        int  NOT NULL,
    FOREIGN KEY (procedure_code, version) REFERENCES procedure_versions (procedure_code, version)
);

WITH pinned AS MATERIALIZED (
    SELECT d.id, d.procedure_code, 1 FROM dossiers d
    JOIN procedure_versions v ON v.procedure_code = d.procedure_code AND v.version = 1)
INSERT INTO dossier_procedure_versions (dossier_id, procedure_code, version)
SELECT * FROM pinned;
