-- Runs inside one tenant schema (first on the search path). Plain top-level DDL only: no DO
-- blocks, no schema-qualified names, no references to the shared schema.

CREATE TABLE fields (
    code    text PRIMARY KEY,
    name_vi text NOT NULL,
    name_en text
);

CREATE TABLE procedures (
    code            text PRIMARY KEY,
    name_vi         text NOT NULL,
    name_en         text,
    field_code      text NOT NULL REFERENCES fields (code),
    online_level    text NOT NULL CHECK (online_level IN ('partial', 'full')),
    processing_days integer NOT NULL CHECK (processing_days >= 0),
    fee_vnd         bigint NOT NULL DEFAULT 0 CHECK (fee_vnd >= 0),
    documents       jsonb NOT NULL DEFAULT '[]',
    active          boolean NOT NULL DEFAULT true,
    -- code and names folded to lowercase ASCII without diacritics, for search
    search_text     text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX procedures_field_idx ON procedures (field_code);

-- Offices inside the tenant that receive dossiers (a commune's people's committee, a one-stop desk).
CREATE TABLE agencies (
    code    text PRIMARY KEY,
    name_vi text NOT NULL,
    name_en text,
    address text
);
