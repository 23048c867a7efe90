-- Complaints and recommendations (phản ánh, kiến nghị): filed by anyone with a verified
-- contact, routed to the tenant (and a unit), answered by an official within a deadline on the
-- working-day calendar, and — with the filer's consent, personal data removed — published.
CREATE TABLE complaints (
    id              uuid PRIMARY KEY,
    code            text NOT NULL UNIQUE,
    kind            text NOT NULL CHECK (kind IN ('complaint', 'recommendation')),
    subject         text NOT NULL CHECK (subject IN ('procedure', 'dossier', 'unit', 'official', 'other')),
    -- The procedure or dossier code, the unit code, or the official as the filer names them.
    subject_ref     text,
    unit_code       text,
    title           text NOT NULL,
    body            text NOT NULL,
    filer_account   uuid,
    filer_name      text NOT NULL,
    filer_email     text,
    filer_phone     text,
    locale          text NOT NULL DEFAULT 'vi',
    consent_publish boolean NOT NULL DEFAULT false,
    status          text NOT NULL CHECK (status IN ('unverified', 'open', 'answered', 'published')),
    -- The one-time code that proves the contact of a filer without an account.
    verify_hash     bytea,
    verify_attempts integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Filed: verified (or signed in). The deadline runs from here.
    filed_at        timestamptz,
    due_date        date,
    answer          text,
    answered_by     uuid,
    answered_at     timestamptz,
    public_question text,
    public_answer   text,
    published_at    timestamptz
);
CREATE INDEX complaints_open_idx ON complaints (due_date) WHERE status = 'open';
CREATE INDEX complaints_published_idx ON complaints (published_at DESC) WHERE status = 'published';
CREATE SEQUENCE complaint_numbers;
