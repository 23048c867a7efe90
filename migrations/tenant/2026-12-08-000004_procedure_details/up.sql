-- Procedure details and provenance (issue 20).
ALTER TABLE procedures
    -- What the national procedure database publishes beside the form: the legal basis (one
    -- entry per document), the conditions to meet, the paper forms citizens may download.
    ADD COLUMN details jsonb NOT NULL DEFAULT '{}',
    -- A template the tenant's children may adopt and adapt, whether or not it is offered here.
    ADD COLUMN template boolean NOT NULL DEFAULT false,
    -- For an adopted procedure: the parent's version it was taken at, to tell the adopter
    -- when the parent's template changes.
    ADD COLUMN adopted_version int,
    -- Where its current definition came from (`file`, `designer`, `api`, `import`, `adopted`),
    -- so that applying a tenant file over designer changes is reported, not silent.
    ADD COLUMN edited_in text NOT NULL DEFAULT 'file';
