-- The receiving agency's electronic identifier (mã định danh điện tử, e.g. 000.00.24.H29):
-- the prefix of its dossier codes. Tenants without one keep their short code.
ALTER TABLE platform.tenants ADD COLUMN agency_id text;

-- A dossier registered at the counter for someone without an account is indexed without one,
-- under a hash of the identity number and phone the desk recorded, until that person signs up
-- with both and claims it.
ALTER TABLE platform.dossier_index ALTER COLUMN account_id DROP NOT NULL;
ALTER TABLE platform.dossier_index ADD COLUMN claim_hash bytea;
ALTER TABLE platform.dossier_index ADD COLUMN claim_email text;
CREATE INDEX dossier_index_claim_idx ON platform.dossier_index (claim_hash)
    WHERE account_id IS NULL;

-- An identifier names one agency: two tenants sharing it would issue the same codes.
CREATE UNIQUE INDEX tenants_agency_id_key ON platform.tenants (agency_id)
    WHERE agency_id IS NOT NULL;
