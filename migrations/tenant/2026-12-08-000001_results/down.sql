ALTER TABLE attachments DROP COLUMN provenance, DROP COLUMN digitised;
DROP TABLE results;
DROP TABLE result_sequences;
DROP TABLE signing_identities;
