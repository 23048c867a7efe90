DROP INDEX platform.tenants_agency_id_key;
DROP INDEX platform.dossier_index_claim_idx;
DELETE FROM platform.dossier_index WHERE account_id IS NULL;
ALTER TABLE platform.dossier_index DROP COLUMN claim_email;
ALTER TABLE platform.dossier_index DROP COLUMN claim_hash;
ALTER TABLE platform.dossier_index ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE platform.tenants DROP COLUMN agency_id;
