-- Electronic results (issue 19). The agency's signing identity: its certificate chain (PEM,
-- leaf first) and its private key, PKCS#8 sealed under the platform's master key. One is in
-- use at a time; a replaced one is kept so results it signed still name it.
CREATE TABLE signing_identities (
    id          uuid PRIMARY KEY,
    subject     text NOT NULL,
    issuer      text NOT NULL,
    serial      text NOT NULL,
    fingerprint text NOT NULL,
    algorithm   text NOT NULL,
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    chain_pem   text NOT NULL,
    sealed_key  bytea NOT NULL,
    key_nonce   bytea NOT NULL,
    in_use      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX signing_identities_in_use ON signing_identities (in_use) WHERE in_use;

-- The register's numbering, per year ("00012/2026/KQ").
CREATE TABLE result_sequences (
    year int PRIMARY KEY,
    last int NOT NULL
);

-- A dossier's result: the signed PDF in storage, its number and digest. The id is random and
-- is what the QR code's verification address carries. A revoked result stays (the page says
-- so); the dossier may then be given a new one.
CREATE TABLE results (
    id             uuid PRIMARY KEY,
    dossier_id     uuid NOT NULL REFERENCES dossiers (id),
    number         text NOT NULL UNIQUE,
    origin         text NOT NULL CHECK (origin IN ('generated', 'uploaded', 'paper_scan')),
    file_name      text NOT NULL,
    size_bytes     bigint NOT NULL,
    sha256         text NOT NULL,
    storage_key    text NOT NULL,
    identity_id    uuid NOT NULL REFERENCES signing_identities (id),
    issued_by      uuid,
    issued_at      timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_by     uuid,
    revoke_reason  text
);
CREATE UNIQUE INDEX results_live_per_dossier ON results (dossier_id) WHERE revoked_at IS NULL;
CREATE INDEX results_issued_at ON results (issued_at);

-- Paper turned into files: scans made at the counter (digitised) and documents attached from
-- the citizen's wallet (where they came from, what the citizen chose).
ALTER TABLE attachments
    ADD COLUMN digitised  boolean NOT NULL DEFAULT false,
    ADD COLUMN provenance jsonb;
